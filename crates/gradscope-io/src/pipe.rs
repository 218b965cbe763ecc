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

/// Widens standard input if it is a pipe.
pub fn widen_stdin() {
    #[cfg(target_os = "linux")]
    let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdin(), PIPE_BYTES);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_pipe_takes_the_wider_buffer() {
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert_eq!(rustix::pipe::fcntl_getpipe_size(&r).unwrap(), 1 << 16);
        rustix::pipe::fcntl_setpipe_size(&r, super::PIPE_BYTES).unwrap();
        assert!(rustix::pipe::fcntl_getpipe_size(&r).unwrap() >= super::PIPE_BYTES);
    }
}
