//! Device selection and libtorch's global settings (threads, seed).

use anyhow::{bail, Result};
use tch::Device;

use crate::cuda_backend;

/// Parses `cpu`, `cuda`, `cuda:N` or `auto` (CUDA when libtorch sees a GPU, else CPU).
///
/// Any CUDA choice first loads libtorch's CUDA backend ([`cuda_backend::load`]); call this
/// before anything else asks libtorch about CUDA (seeding does), since libtorch decides
/// once per process whether it has CUDA. `auto` falls back to the CPU when the backend
/// cannot be loaded or sees no GPU; `cuda` says why it cannot run.
pub fn parse_device(s: &str) -> Result<Device> {
    let cuda_count = || cuda_backend::load().map(|()| tch::Cuda::device_count());
    match s {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(match cuda_count() {
            Ok(n) if n > 0 => Device::Cuda(0),
            _ => Device::Cpu,
        }),
        "cuda" => match cuda_count() {
            Ok(n) if n > 0 => Ok(Device::Cuda(0)),
            Ok(_) => {
                bail!("--device cuda: libtorch sees no CUDA device (use --device cpu or auto)")
            }
            Err(e) => bail!("--device cuda: libtorch's CUDA backend is unavailable: {e}"),
        },
        other => match other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(i) => match cuda_count() {
                Ok(n) if (i as i64) < n => Ok(Device::Cuda(i)),
                Ok(n) => {
                    bail!("--device {other}: libtorch sees {n} CUDA device(s), not device {i}")
                }
                Err(e) => bail!("--device {other}: libtorch's CUDA backend is unavailable: {e}"),
            },
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

/// The glibc allocator settings the libtorch tools run with, unless the user set
/// `GLIBC_TUNABLES`: memory above 32 MiB is mapped per allocation, smaller blocks are
/// reused, and free memory is returned to the system only above 512 MiB.
///
/// Why: glibc's default mmap threshold rises with use, and free memory at the top of the
/// heap above twice that threshold is returned to the system; a training step frees its
/// activations and gradients (2.5 MB for `fnn`'s first layer) and allocates them again,
/// so every step faulted the same pages back in, zeroed. Measured on 2 cores: `dump-grads`
/// (fnn, batch 64, one thread) took 7.15 ms per gradient with the defaults and 4.64 ms
/// with these settings; peak memory grew by 9 MiB.
pub const MALLOC_THRESHOLDS: MallocThresholds = MallocThresholds {
    mmap: 32 << 20,
    trim: 512 << 20,
};

/// glibc's mmap and trim thresholds, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct MallocThresholds {
    pub mmap: i32,
    pub trim: i32,
}

impl MallocThresholds {
    /// As a `GLIBC_TUNABLES` value, for a process started with them.
    pub fn tunables(&self) -> String {
        format!(
            "glibc.malloc.mmap_threshold={}:glibc.malloc.trim_threshold={}",
            self.mmap, self.trim
        )
    }
}

/// Starts the process again, once, with the runtime settings libtorch reads when it
/// loads, before `main` runs: `OMP_WAIT_POLICY=passive` unless the user chose a policy
/// (`OMP_WAIT_POLICY` or `GOMP_SPINCOUNT` set), and [`MALLOC_THRESHOLDS`] unless
/// `GLIBC_TUNABLES` is set.
///
/// Why passive: by default libgomp spins up to 300,000 iterations waiting for work after
/// each parallel region. The tools run libtorch beside a writer thread, rayon, and often
/// the next tool of a pipe on the same cores; the spinning threads then take the cores
/// those need. Measured on 2 cores: `dump-grads` (fnn, batch 64) spent 68 % of its
/// samples spinning in libgomp, and 200 gradients took 50.4 s with the default policy
/// and 13.8 s passive.
/// Call it first in `main`; it returns only in the process that runs the tool. A tool
/// whose libtorch work all runs with one intra-op thread (so libgomp never starts a thread
/// to spin) calls [`apply_malloc_settings`] instead, and saves loading libtorch twice
/// (0.15-0.2 s of a run here).
pub fn relaunch_with_runtime_settings() {
    use std::os::unix::process::CommandExt;
    let set = |k: &str| std::env::var_os(k).is_some();
    let omp = !(set("OMP_WAIT_POLICY") || set("GOMP_SPINCOUNT"));
    let malloc = !set("GLIBC_TUNABLES");
    if !omp && !malloc {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = std::process::Command::new(exe);
    command.args(std::env::args_os().skip(1));
    if omp {
        command.env("OMP_WAIT_POLICY", "passive");
    }
    if malloc {
        command.env("GLIBC_TUNABLES", MALLOC_THRESHOLDS.tunables());
    }
    let err = command.exec();
    // exec returns only on failure: go on with the defaults.
    eprintln!("note: could not restart with libtorch's runtime settings ({err}); continuing");
}

/// [`MALLOC_THRESHOLDS`] applied to the running process with `mallopt(3)`, unless the
/// user set `GLIBC_TUNABLES`: the same effect on every allocation from here on, without a
/// restart.
pub fn apply_malloc_settings() {
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        set_malloc_thresholds(MALLOC_THRESHOLDS);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_malloc_thresholds(t: MallocThresholds) {
    // SAFETY: mallopt only sets two of glibc malloc's parameters (it takes the arena lock
    // itself); no pointer is passed and memory already allocated is unaffected.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, t.mmap);
        libc::mallopt(libc::M_TRIM_THRESHOLD, t.trim);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_malloc_thresholds(_: MallocThresholds) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The restart's `GLIBC_TUNABLES` value is the one README documents.
    #[test]
    fn tunables_spell_the_thresholds() {
        assert_eq!(
            MALLOC_THRESHOLDS.tunables(),
            "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=536870912"
        );
    }

    /// `auto` picks the GPU exactly when libtorch, with its CUDA backend loaded, sees one;
    /// `cuda` then succeeds or says why not; malformed names are refused by name.
    #[test]
    fn device_names_follow_what_libtorch_sees() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        let gpus = cuda_backend::load().map_or(0, |()| tch::Cuda::device_count());
        let auto = parse_device("auto").unwrap();
        let cuda = parse_device("cuda");
        if gpus > 0 {
            assert_eq!(auto, Device::Cuda(0));
            assert_eq!(cuda.unwrap(), Device::Cuda(0));
        } else {
            assert_eq!(auto, Device::Cpu);
            let msg = cuda.unwrap_err().to_string();
            assert!(msg.starts_with("--device cuda: "), "{msg}");
        }
        let msg = parse_device(&format!("cuda:{gpus}"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(&format!("not device {gpus}")) || msg.contains("unavailable"),
            "{msg}"
        );
        let msg = parse_device("gpu").unwrap_err().to_string();
        assert_eq!(msg, "--device gpu: expected cpu, cuda, cuda:N or auto");
    }
}
