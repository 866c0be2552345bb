//! Reruns saved inputs through a harness without instrumentation:
//! `replay TARGET PATH...` (files or directories). Prints each input that panics and exits 1 if
//! any did. Used by `tools/fuzz.sh` to confirm crashes and by hand to debug them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, paths)) = args.split_first() else {
        eprintln!("usage: replay TARGET PATH...");
        return ExitCode::from(2);
    };
    let Some(harness) = kerbscope_fuzz::target(name) else {
        eprintln!("unknown target {name}");
        return ExitCode::from(2);
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for p in paths.iter().map(PathBuf::from) {
        match std::fs::read_dir(&p) {
            Ok(dir) => files.extend(dir.flatten().map(|e| e.path()).filter(|p| p.is_file())),
            Err(_) => files.push(p),
        }
    }
    files.sort();
    let (mut ran, mut failed) = (0, 0);
    for f in files {
        let Ok(data) = std::fs::read(&f) else {
            continue;
        };
        ran += 1;
        if catch_unwind(AssertUnwindSafe(|| harness(&data))).is_err() {
            failed += 1;
            println!("PANIC {name} {}", f.display());
        }
    }
    println!("{name}: {ran} inputs, {failed} panicked");
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
