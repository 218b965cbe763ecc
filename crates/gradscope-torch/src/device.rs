//! Device selection and libtorch's global settings (threads, seed).

use anyhow::{bail, Result};
use tch::Device;

/// Parses `cpu`, `cuda`, `cuda:N` or `auto` (CUDA when libtorch sees a GPU, else CPU).
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(Device::cuda_if_available()),
        "cuda" => {
            if !tch::Cuda::is_available() {
                bail!("--device cuda: libtorch sees no CUDA device (use --device cpu or auto)");
            }
            Ok(Device::Cuda(0))
        }
        other => match other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(i) if tch::Cuda::is_available() && (i as i64) < tch::Cuda::device_count() => {
                Ok(Device::Cuda(i))
            }
            Some(i) => bail!(
                "--device {other}: libtorch sees {} CUDA device(s), not device {i}",
                tch::Cuda::device_count()
            ),
            None => bail!("--device {other}: expected cpu, cuda, cuda:N or auto"),
        },
    }
}

/// Sets libtorch's intra-op thread count (`threads` = 0 keeps libtorch's default, one per
/// core) and its global seed. libtorch and rayon each own a pool; giving both the same
/// `--threads` keeps them from oversubscribing the cores.
pub fn init_torch(threads: usize, seed: u64) {
    if threads > 0 {
        tch::set_num_threads(threads as i32);
    }
    tch::manual_seed(seed as i64);
}

/// A short name for provenance records ("cpu", "cuda:0").
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Makes libtorch's OpenMP threads sleep between parallel regions instead of spinning,
/// by starting the process again with `OMP_WAIT_POLICY=passive` unless the user chose a
/// policy (`OMP_WAIT_POLICY` or `GOMP_SPINCOUNT` set).
///
/// Why: libgomp reads the policy once, when the library loads, before `main` runs, and
/// by default spins up to 300,000 iterations waiting for work after each parallel region.
/// The tools run libtorch beside a writer thread, rayon, and often the next tool of a
/// pipe on the same cores; the spinning threads then take the cores those need. Measured
/// on 2 cores: `dump-grads` (fnn, batch 64) spent 68 % of its samples spinning in
/// libgomp, and 200 gradients took 50.4 s with the default policy and 13.8 s passive.
/// Call it first in `main`; it returns only in the process that runs the tool.
pub fn relaunch_with_passive_openmp() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_WAIT_POLICY").is_some() || std::env::var_os("GOMP_SPINCOUNT").is_some()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_WAIT_POLICY", "passive")
        .exec();
    // exec returns only on failure: go on with the default policy.
    eprintln!("note: could not restart with OMP_WAIT_POLICY=passive ({err}); continuing");
}
