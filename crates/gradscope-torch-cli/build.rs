//! Links this crate's binaries and tests with an rpath to libtorch's directory, so they run
//! without LD_LIBRARY_PATH. torch-sys (`links = "tch"`) publishes the directory it linked
//! against as `DEP_TCH_LIBTORCH_LIB` to the build scripts of crates that depend on it
//! directly; `rustc-link-arg` only reaches the targets of the crate that emits it, hence
//! the same script in both libtorch crates.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
