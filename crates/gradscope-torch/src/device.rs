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
