//! Generates include/acscalling.h from src/ffi with the pinned cbindgen.
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets it");
    let mut config = config;
    config.after_includes = Some(format!(
        "\n#define ACS_CALLING_VERSION_STRING \"{version}\"\n"
    ));
    match cbindgen::Builder::new()
        // Only src/ffi is the C API; parsing from its root keeps Rust-side constants out.
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(crate_dir.join("include/acscalling.h"));
        }
        Err(e) => {
            // Don't break builds of the Rust crate over the header; CI's header check catches it.
            println!("cargo:warning=cbindgen failed: {e}");
        }
    }
}
