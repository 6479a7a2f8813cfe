//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`) through the target's
//! entry function: the inputs the fuzzer found interesting, and every crash it ever found,
//! stay regression tests on stable Rust.

use std::path::PathBuf;

#[test]
fn every_corpus_file_passes_its_target() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (name, entry) in otelctl_fuzz::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("fuzz corpus {} is missing: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "fuzz corpus {} is empty", dir.display());
        for file in &files {
            let data = std::fs::read(file).expect("read corpus file");
            let outcome = std::panic::catch_unwind(|| entry(&data));
            assert!(
                outcome.is_ok(),
                "fuzz target {name} fails on {}",
                file.display()
            );
        }
        println!("{name}: {} corpus files replayed", files.len());
    }
}
