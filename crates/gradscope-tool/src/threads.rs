//! Worker threads from `--threads`.

use anyhow::Result;

/// The most worker threads a tool starts. Every tool's work is CPU-bound, so threads
/// beyond the cores only add start-up cost and memory: 100,000 threads never finished
/// starting, 5,000 took over 20 s. 1,024 leaves room for any machine this runs on today.
pub const MAX_THREADS: usize = 1024;

/// Checks a `--threads` value: 0 (one per core) up to [`MAX_THREADS`].
pub fn check(threads: usize) -> Result<usize> {
    if threads > MAX_THREADS {
        anyhow::bail!(
            "--threads {threads}: at most {MAX_THREADS} (0: one per core, {} here)",
            cores()
        );
    }
    Ok(threads)
}

/// The cores available to this process (1 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `threads`, or the number of cores when it is 0.
pub fn resolve(threads: usize) -> usize {
    if threads == 0 {
        cores()
    } else {
        threads
    }
}

/// Sizes rayon's global pool: `threads` = 0 means one per core.
pub fn init_rayon(threads: usize) {
    if threads > 0 {
        // Fails only if the pool was already built (e.g. twice in tests): harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
}

/// The clap value parser of `--threads` (see [`check`]).
pub fn parse(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("expected a whole number of threads, got `{s}`"))?;
    check(n).map_err(|e| e.to_string())
}
