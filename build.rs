//! Link libtorch so that the binary finds it at run time and keeps libtorch_cuda.
//!
//! torch-sys puts an rpath only on its own C++ compile, and rustc links with
//! `--as-needed`, which silently drops libtorch_cuda (nothing references it by
//! symbol): CUDA then reads as unavailable on a GPU machine. So we add the rpath
//! ourselves and force `-ltorch` (which pulls libtorch_cuda) under `--no-as-needed`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    let Ok(lib_dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=DEP_TCH_LIBTORCH_LIB not set; run scripts/setup-libtorch.sh");
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-L{lib_dir}");
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-ltorch_cuda");
}
