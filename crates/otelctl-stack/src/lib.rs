//! The local stack (Collector, Tempo, Grafana): rendering their configs, finding their
//! programs, starting and supervising them, asking them whether they are ready, and reading
//! traces back from Tempo.

pub mod programs;
pub mod readiness;
pub mod render;
pub mod stack;
pub mod supervise;
pub mod tempo_api;
