//! Link libtorch so that the binary finds it at run time and keeps libtorch_cuda,
//! and compile the C++ bindings tch lacks (csrc/: fused Adam, fbgemm's int8 linear).
//!
//! torch-sys puts an rpath only on its own C++ compile, and rustc links with
//! `--as-needed`, which silently drops libtorch_cuda (nothing references it by
//! symbol): CUDA then reads as unavailable on a GPU machine. So we add the rpath
//! ourselves and force `-ltorch` and `-ltorch_cuda` under `--no-as-needed`.

// A build script reads what cargo passes it through the environment; the
// house rule (util::env_vars) is for the tool, not for its build.
#![allow(clippy::disallowed_methods)]

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/fused_adam.cpp");
    println!("cargo:rerun-if-changed=csrc/int8_linear.cpp");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    let Ok(lib_dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=DEP_TCH_LIBTORCH_LIB not set; run scripts/setup-libtorch.sh");
        return;
    };
    compile_shim(&lib_dir);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-L{lib_dir}");
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-ltorch_cuda");
}

/// The headers sit beside the libraries (`<torch>/lib`, `<torch>/include`) in
/// both the PyPI wheel and the libtorch zip, unless `LIBTORCH_INCLUDE` names
/// their root (as torch-sys reads it); the ABI flag follows torch-sys's
/// default so the two C++ objects agree (a mismatch fails at link time).
#[cfg(feature = "torch")]
fn compile_shim(lib_dir: &str) {
    println!("cargo:rerun-if-env-changed=LIBTORCH_INCLUDE");
    let root = match std::env::var_os("LIBTORCH_INCLUDE") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::Path::new(lib_dir)
            .parent()
            .expect("libtorch lib dir has a parent")
            .to_path_buf(),
    };
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .file("csrc/fused_adam.cpp")
        .file("csrc/int8_linear.cpp")
        .include(root.join("include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .warnings(false)
        .compile("hecjob_csrc");
}

#[cfg(not(feature = "torch"))]
fn compile_shim(_: &str) {}
