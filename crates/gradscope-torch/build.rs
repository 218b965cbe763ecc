//! Links this crate's binaries and tests with an rpath to libtorch's directory, so they run
//! without LD_LIBRARY_PATH. torch-sys (`links = "tch"`) publishes the directory it linked
//! against as `DEP_TCH_LIBTORCH_LIB` to the build scripts of crates that depend on it
//! directly; `rustc-link-arg` only reaches the targets of the crate that emits it, hence
//! the same script in both libtorch crates. This one also tells `cuda_backend` that
//! directory, where it opens libtorch_cuda.so when a GPU is asked for.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let dir = std::env::var("DEP_TCH_LIBTORCH_LIB").unwrap_or_default();
    if !dir.is_empty() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    // Where `cuda_backend` looks for libtorch_cuda.so first.
    println!("cargo:rustc-env=GRADSCOPE_LIBTORCH_LIB={dir}");
}
