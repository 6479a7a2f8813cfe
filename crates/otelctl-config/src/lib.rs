//! Where a project's stack lives and how it is reached: the project root, its ports, its data
//! directories, system-or-local detection, validated settings, the shell environment, and the
//! error and exit-code types every otelctl crate reports with.
//!
//! The bottom of the workspace: it depends on no other otelctl crate but `otelctl-http` (the
//! detection probe). See ARCHITECTURE.md at the repository root for the map.

pub mod detect;
pub mod env;
pub mod error;
pub mod exit;
pub mod formats;
pub mod paths;
pub mod ports;
pub mod root;
pub mod secrets;
pub mod settings;
pub mod shellenv;
pub mod system;

pub use error::{Error, Result};
