#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| otelctl_fuzz::otlp_json(data));
