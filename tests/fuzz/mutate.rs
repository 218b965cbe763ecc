//! Seeded mutations of valid files, for the readers' fuzz tests (included by path into
//! each crate's `tests/fuzz_*.rs`, so that the crates share it without a dependency).
//!
//! Each case takes one of the valid seed files and applies one to three mutations drawn
//! by Xoshiro256++ from a fixed seed: flipped bits, a byte set at random, a truncation,
//! a 4- or 8-byte field set to a large value (the length fields of headers), a deleted
//! chunk, a chunk of random bytes inserted. Runs are deterministic: the same number of
//! cases gives the same inputs. The budget is a number of cases (`FUZZ_CASES`, else the
//! test's default), never a duration.
//!
//! A case crashes when the code under test panics; errors are the expected outcome. The
//! inputs of crashing cases are written under `target/fuzz-crashes/` to reproduce them.

#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The cases to run: `FUZZ_CASES` when set, else `default`.
pub fn budget(default: u64) -> u64 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One mutated copy of `seed`.
pub fn mutate(rng: &mut Xoshiro256PlusPlus, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        if v.is_empty() {
            v.push(rng.random());
            continue;
        }
        let at = rng.random_range(0..v.len());
        match rng.random_range(0..6) {
            0 => {
                for _ in 0..rng.random_range(1..=4) {
                    let i = rng.random_range(0..v.len());
                    v[i] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => v[at] = rng.random(),
            2 => v.truncate(at),
            3 => {
                let large: [u64; 6] = [
                    0x7fff_ffff,
                    0xffff_ffff,
                    0x8000_0000,
                    0x7fff_ffff_ffff_ffff,
                    u64::MAX,
                    rng.random_range(1 << 20..1 << 40),
                ];
                let x = large[rng.random_range(0..large.len())];
                let width = if rng.random() { 4 } else { 8 };
                let at = at.min(v.len().saturating_sub(width));
                let bytes = x.to_le_bytes();
                let end = (at + width).min(v.len());
                v[at..end].copy_from_slice(&bytes[..end - at]);
            }
            4 => {
                let len = rng.random_range(1..=64).min(v.len() - at);
                v.drain(at..at + len);
            }
            _ => {
                let len = rng.random_range(1..=64);
                let junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                v.splice(at..at, junk);
            }
        }
    }
    v
}

/// What a fuzz run found.
#[derive(Debug, Default)]
pub struct Report {
    pub cases: u64,
    pub errors: u64,
    pub crashes: Vec<String>,
}

/// Runs `cases` mutated inputs, drawn from `seeds` in turn, through `check` (which
/// returns whether the input was refused with an error), catching panics. Prints a line
/// with the counts and the process's peak memory; fails listing the crashes.
pub fn run(
    name: &str,
    seeds: &[(&str, Vec<u8>)],
    cases: u64,
    rng_seed: u64,
    check: impl Fn(&[u8]) -> bool,
) -> Report {
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(rng_seed);
    let mut report = Report::default();
    let crash_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("..")
        .join("fuzz-crashes");
    for case in 0..cases {
        let (seed_name, seed) = &seeds[(case % seeds.len() as u64) as usize];
        let input = mutate(&mut rng, seed);
        match catch_unwind(AssertUnwindSafe(|| check(&input))) {
            Ok(refused) => report.errors += refused as u64,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let _ = std::fs::create_dir_all(&crash_dir);
                let file = crash_dir.join(format!("{}-{case}-{seed_name}", name.replace(' ', "-")));
                let _ = std::fs::write(&file, &input);
                report.crashes.push(format!(
                    "case {case} ({seed_name}, {}): {msg}",
                    file.display()
                ));
            }
        }
        report.cases += 1;
    }
    let _ = std::panic::take_hook();
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
        })
        .unwrap_or_else(|| "?".into());
    eprintln!(
        "fuzz {name}: {} cases, {} refused with an error, {} crashes; peak memory {peak} kB",
        report.cases,
        report.errors,
        report.crashes.len()
    );
    assert!(
        report.crashes.is_empty(),
        "{name}: {} crashes:\n{}",
        report.crashes.len(),
        report.crashes.join("\n")
    );
    report
}
