//! stub
use otelctl_core::settings::Settings;
use otelctl_core::Result;
pub fn run(_s: &Settings, _g: &crate::cli::GlobalArgs, _a: &crate::cli::UpArgs) -> Result<u8> {
    todo!()
}
