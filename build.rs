//! Generates include/acscalling.h from src/ffi with the pinned cbindgen.
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    versioned_soname();
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

/// The shared library's soname is libacscalling.so.<major> (an incompatible release gets a
/// new one, so an old host never loads it): executables linked with -lacscalling record
/// libacscalling.so.0. Cargo names the file libacscalling.so, so next to it this links
/// libacscalling.so.0 (what the loader looks for) and libacscalling.so.<full version> to it.
/// Installs copy the real file to libacscalling.so.<full version> (examples-c/Makefile).
fn versioned_soname() {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    if env("CARGO_CFG_TARGET_FAMILY") != "unix" || env("CARGO_CFG_TARGET_VENDOR") == "apple" {
        return;
    }
    let major = env("CARGO_PKG_VERSION_MAJOR");
    let soname = format!("libacscalling.so.{major}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    // OUT_DIR is <target dir>/<profile>/build/<package>-<hash>/out: the library goes to
    // <target dir>/<profile>.
    let out_dir = PathBuf::from(env("OUT_DIR"));
    let Some(lib_dir) = out_dir.ancestors().nth(3) else {
        return;
    };
    #[cfg(unix)]
    for name in [
        soname,
        format!("libacscalling.so.{}", env("CARGO_PKG_VERSION")),
    ] {
        let link = lib_dir.join(name);
        if std::fs::read_link(&link).is_ok_and(|t| t == std::path::Path::new("libacscalling.so")) {
            continue;
        }
        let _ = std::fs::remove_file(&link);
        if let Err(e) = std::os::unix::fs::symlink("libacscalling.so", &link) {
            println!("cargo:warning=cannot link {}: {e}", link.display());
        }
    }
}
