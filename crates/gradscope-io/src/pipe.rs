//! Wider pipes for gradient streams.
//!
//! A Linux pipe buffers 64 KiB by default, so a writer of 2.5 MB gradients (`fnn`) and
//! its reader hand over the CPU about 40 times per gradient; on 2 cores that was 13,000
//! context switches a second for `dump-grads | vmf-kappa`. Both ends ask for 1 MiB, the
//! default ceiling for unprivileged processes (`/proc/sys/fs/pipe-max-size`, pipe(7)).
//! Anything that is not a pipe (a file, a terminal), or a refusal, leaves things as they
//! are.

/// The pipe capacity asked for, in bytes.
pub const PIPE_BYTES: usize = 1 << 20;

/// Widens standard output if it is a pipe.
pub fn widen_stdout() {
    #[cfg(target_os = "linux")]
    let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdout(), PIPE_BYTES);
}

/// Standard output as a plain file (a duplicate of descriptor 1), for binary streams.
/// Why: Rust's `Stdout` is line-buffered, so every write of a gradient is scanned for
/// newline bytes and split at the last one; a binary stream wants its writes whole.
pub fn raw_stdout() -> std::io::Result<std::fs::File> {
    duplicate(std::io::stdout())
}

fn duplicate(fd: impl std::os::fd::AsFd) -> std::io::Result<std::fs::File> {
    Ok(std::fs::File::from(fd.as_fd().try_clone_to_owned()?))
}

/// Standard input as a plain file (a duplicate of descriptor 0). Why: a gradient's body
/// is read straight into its destination, so `Stdin`'s lock and 8 KiB buffer only cost.
pub fn raw_stdin() -> std::io::Result<std::fs::File> {
    duplicate(std::io::stdin())
}

/// The nice increment of a pipe's later stages and of writer threads (see
/// [`yield_to_producer`]).
pub const CONSUMER_NICE: i32 = 10;

/// Lowers the CPU priority of the calling thread, and of the threads it starts later, by
/// [`CONSUMER_NICE`] when standard input is a pipe; true if it did.
///
/// Why: in `dump-grads | vmf-kappa` the producer's gradient computation is the pipe's
/// bottleneck, and the consumer (faster, and paced by the pipe anyway) wakes each time
/// data arrives. At equal priority each wake-up may take the producer's core. A consumer
/// that is the slower stage loses nothing where cores are free; where they are not, the
/// pipe blocks its producer anyway.
/// `dump-grads`' writer thread lowers itself the same way ([`lower_thread_priority`]).
/// Measured on 2 cores, 3,000 `fnn` gradients, 4 runs each, one after the other: 16.6 s
/// as before, 15.3 s with `vmf-kappa` yielding, 14.7 s with the writer thread too.
/// Linux applies nice values per thread, hence "threads it starts later": call this
/// before any worker pool is built. `GRADSCOPE_NO_YIELD` (set to anything) turns it off.
pub fn yield_to_producer() -> bool {
    use std::os::unix::fs::FileTypeExt;
    let is_pipe = raw_stdin()
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.file_type().is_fifo());
    is_pipe && lower_thread_priority(CONSUMER_NICE)
}

/// Lowers the calling thread's CPU priority by `inc` (Linux: this thread only), unless
/// `GRADSCOPE_NO_YIELD` is set; true if it did.
pub fn lower_thread_priority(inc: i32) -> bool {
    #[cfg(target_os = "linux")]
    if std::env::var_os("GRADSCOPE_NO_YIELD").is_none() {
        return rustix::process::nice(inc).is_ok();
    }
    false
}

/// Widens standard input if it is a pipe.
pub fn widen_stdin() {
    #[cfg(target_os = "linux")]
    let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdin(), PIPE_BYTES);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_lowered_thread_leaves_the_others_alone() {
        let nice = || rustix::process::getpriority_process(None).unwrap();
        let before = nice();
        let (inside, after) = std::thread::spawn(move || {
            let start = nice();
            super::lower_thread_priority(3);
            (nice() - start, nice())
        })
        .join()
        .unwrap();
        if std::env::var_os("GRADSCOPE_NO_YIELD").is_none() && before <= 16 {
            assert_eq!(inside, 3, "the thread's nice value rises by 3");
            assert_eq!(after, before + 3);
        }
        assert_eq!(nice(), before, "the calling thread keeps its priority");
    }

    #[test]
    fn a_pipe_takes_the_wider_buffer() {
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert_eq!(rustix::pipe::fcntl_getpipe_size(&r).unwrap(), 1 << 16);
        rustix::pipe::fcntl_setpipe_size(&r, super::PIPE_BYTES).unwrap();
        assert!(rustix::pipe::fcntl_getpipe_size(&r).unwrap() >= super::PIPE_BYTES);
    }
}
