//! The fuzz targets' checks (fuzz/src/checks.rs), run by `cargo test` on
//! every seed under `fuzz/seeds/<target>/` and every input a fuzzer once
//! broke a target with under `fuzz/regressions/<target>/`, so that a crash
//! found once stays fixed. `scripts/fuzz.sh` runs the fuzzers themselves.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/checks.rs"]
mod checks;

/// The inputs kept for `target` under `fuzz/<kind>/`, README files aside.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("README"))
        })
        .collect();
    files.sort();
    files
}

/// Runs `target`'s check on each of its seeds and regressions, and fails
/// naming every input that breaks it.
fn replay(target: &str) {
    let (_, check) = checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a fuzz target of that name");
    let seeds = inputs("seeds", target);
    assert!(!seeds.is_empty(), "{target} has seeds to replay");
    let regressions = inputs("regressions", target);
    let broken: Vec<String> = seeds
        .iter()
        .chain(&regressions)
        .filter_map(|path| {
            let data = std::fs::read(path).expect("a readable input");
            std::panic::catch_unwind(|| check(&data))
                .err()
                .map(|_| path.display().to_string())
        })
        .collect();
    assert!(
        broken.is_empty(),
        "{target}: the check fails on {broken:?} (the panic is printed above)"
    );
}

#[test]
fn every_fuzz_target_has_a_test_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("fuzz/fuzz_targets")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = checks::TARGETS
        .iter()
        .map(|(name, _)| format!("{name}.rs"))
        .collect();
    names.sort();
    assert_eq!(files, names);
}

#[test]
fn sanitiser_inputs_hold() {
    replay("clean");
}

#[test]
fn scrape_bodies_hold() {
    replay("scrape");
}

#[test]
fn wellformed_exposition_lines_read_back() {
    replay("exposition_line");
}

#[test]
fn prometheus_answers_hold() {
    replay("prometheus");
}

#[test]
fn alertmanager_answers_hold() {
    replay("alertmanager");
}

#[test]
fn config_files_hold() {
    replay("config");
}

#[test]
fn convention_files_and_alert_selectors_hold() {
    replay("conventions");
}
