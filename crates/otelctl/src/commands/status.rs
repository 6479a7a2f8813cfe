//! stub
use otelctl_core::settings::Settings;
use otelctl_core::Result;
pub fn run(_s: &Settings, _a: &crate::cli::StatusArgs) -> Result<u8> {
    todo!()
}
