//! Fuzz test of the checkpoint loader (`checkpoint::load`): seeded mutations
//! (Xoshiro256++) of a valid checkpoint (safetensors: parameters of three dtypes and the
//! `__state__` record). Any panic is a crash; errors are the expected outcome.
//!
//! Budget: `FUZZ_CASES` cases (default 2,000; `make fuzz FUZZ_CASES=N` runs more). See
//! tests/fuzz/mutate.rs at the repository root for the mutations.

#[path = "../../../tests/fuzz/mutate.rs"]
mod mutate;

use gradscope_torch::checkpoint::{load, save};
use tch::Tensor;

fn seed(dir: &std::path::Path) -> Vec<u8> {
    let p = dir.join("seed.safetensors");
    let w = Tensor::from_slice(&[1.0f32, -2.0, 3.5, 0.25, 7.0, 1e-3]).view([2, 3]);
    let b = Tensor::from_slice(&[0.5f64, -0.5]);
    let n = Tensor::from_slice(&[3i64]);
    save(
        &p,
        &[("w".into(), w), ("b".into(), b), ("optim.w.step".into(), n)],
        &serde_json::json!({"step": 12, "epoch": 1, "metrics": [0.5, 0.25]}),
    )
    .unwrap();
    std::fs::read(p).unwrap()
}

#[test]
fn fuzz_checkpoint_loader() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = vec![("checkpoint.safetensors", seed(dir.path()))];
    let case = dir.path().join("case.safetensors");
    mutate::run("checkpoint", &seeds, mutate::budget(2_000), 18, |bytes| {
        std::fs::write(&case, bytes).unwrap();
        load(&case).is_err()
    });
}
