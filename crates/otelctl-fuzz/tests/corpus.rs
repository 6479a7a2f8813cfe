//! Replays every committed fuzz input through its target's entry function: the corpus the
//! fuzzer kept (`fuzz/corpus/<target>/*`, minimised by `cargo fuzz cmin`) and every input that
//! once failed (`fuzz/regressions/<target>/*`, kept apart so minimisation never drops them), so
//! a crash found once stays fixed, on stable Rust.

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.expect("corpus entry").path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

#[test]
fn every_corpus_file_passes_its_target() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for (name, entry) in otelctl_fuzz::TARGETS {
        let corpus = files(&root.join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "fuzz corpus of {name} is missing or empty"
        );
        let regressions = files(&root.join("regressions").join(name));
        for file in corpus.iter().chain(&regressions) {
            let data = std::fs::read(file).expect("read corpus file");
            let outcome = std::panic::catch_unwind(|| entry(&data));
            assert!(
                outcome.is_ok(),
                "fuzz target {name} fails on {}",
                file.display()
            );
        }
        println!(
            "{name}: {} corpus and {} regression inputs replayed",
            corpus.len(),
            regressions.len()
        );
    }
}
