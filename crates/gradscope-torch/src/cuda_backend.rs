//! Loading libtorch's CUDA backend when a tool is asked for a GPU.
//!
//! Why this exists: the PyPI wheel splits libtorch into `libtorch_cpu.so` and
//! `libtorch_cuda.so`, and the CUDA half registers itself (its kernels and the hooks that
//! answer "is CUDA available?") from static initialisers when it is loaded. Nothing in the
//! tools calls into it directly, so the linker's `--as-needed`, which Rust passes by
//! default, drops it from the binaries: without this module libtorch reports no GPU even on
//! a machine that has one. Linking it unconditionally would cost every CPU run about 0.45 s
//! and 400 MB of resident memory (its relocations and CUDA's libraries; measured on
//! `train --describe`), so it is opened at run time, and only for `--device cuda`,
//! `cuda:N` or `auto`.
//!
//! It must be loaded before libtorch is first asked about CUDA: libtorch looks its CUDA
//! hooks up once and keeps the answer (ATen's `getCUDAHooks`). `libtorch_cuda.so` finds
//! CUDA's own libraries through its RPATH (`$ORIGIN/../../nvidia/...` in the wheel).

use std::ffi::{CStr, CString};
use std::path::Path;
use std::sync::OnceLock;

/// The directory of the libtorch the binaries were linked against (published by torch-sys
/// to the build script); empty when unknown.
const LIBTORCH_LIB: &str = env!("GRADSCOPE_LIBTORCH_LIB");

/// The outcome of the one attempt per process: `Ok` when `libtorch_cuda.so` is loaded,
/// else why not.
static LOADED: OnceLock<Result<(), String>> = OnceLock::new();

/// Loads `libtorch_cuda.so` once per process: from the directory the binaries were linked
/// against when it is there, else by name through the loader's search path
/// (`LD_LIBRARY_PATH`), which is how a libtorch moved after the build is found. Returns
/// why it could not be loaded (a CPU-only libtorch, or CUDA's libraries missing).
pub fn load() -> Result<(), String> {
    LOADED.get_or_init(open_libtorch_cuda).clone()
}

fn open_libtorch_cuda() -> Result<(), String> {
    let beside = Path::new(LIBTORCH_LIB).join("libtorch_cuda.so");
    let name = if !LIBTORCH_LIB.is_empty() && beside.exists() {
        beside.to_string_lossy().into_owned()
    } else {
        "libtorch_cuda.so".to_owned()
    };
    let c_name = CString::new(name.clone()).map_err(|_| format!("bad library path {name:?}"))?;
    dlopen_global(&c_name).map_err(|e| format!("cannot load {name}: {e}"))
}

/// `dlopen(name, RTLD_NOW | RTLD_GLOBAL)`, keeping the library loaded for the life of the
/// process (its static registrations must stay valid).
#[allow(unsafe_code)]
fn dlopen_global(name: &CStr) -> Result<(), String> {
    // SAFETY: `name` is a valid NUL-terminated string. Loading runs the library's static
    // initialisers, which only register libtorch's CUDA kernels and hooks with the
    // libtorch_cpu already loaded in this process (the wheel ships both halves together);
    // the handle is never closed, so nothing they registered is unloaded. `dlerror` returns
    // a thread-local message valid until the next dl* call on this thread, copied at once.
    unsafe {
        let handle = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if handle.is_null() {
            let err = libc::dlerror();
            return Err(if err.is_null() {
                "dlopen failed".to_owned()
            } else {
                CStr::from_ptr(err).to_string_lossy().into_owned()
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outcome is decided once: a second call returns the first answer (a CPU-only
    /// libtorch, or a CUDA one on a machine without CUDA's libraries, gives the same error
    /// twice; the wheel here loads).
    #[test]
    fn loading_is_attempted_once_and_remembered() {
        let first = load();
        assert_eq!(first, load());
        if Path::new(LIBTORCH_LIB).join("libtorch_cuda.so").exists() {
            // The PyPI wheel ships CUDA's libraries beside it: loading must succeed even
            // without a GPU (the GPU is asked about only later).
            assert_eq!(first, Ok(()), "libtorch_cuda.so from {LIBTORCH_LIB}");
        }
    }
}
