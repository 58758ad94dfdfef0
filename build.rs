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
        "\n/** Version of the library this header declares, \"major.minor.patch\" (equals Cargo.toml). */\n#define ACS_CALLING_VERSION_STRING \"{version}\"\n{}",
        sized_init_macros(&crate_dir.join("src/ffi"))
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

/// The header's ACS_<STRUCT>_INIT(p) macros: one per `<struct>_init_sized` export in
/// src/ffi, passing sizeof *p, so a host initialises exactly the struct its header declares.
fn sized_init_macros(ffi_dir: &std::path::Path) -> String {
    const MARK: &str = "pub unsafe extern \"C\" fn ";
    let mut files: Vec<PathBuf> = std::fs::read_dir(ffi_dir)
        .expect("src/ffi is readable")
        .map(|e| e.expect("src/ffi entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut out = String::from(
        "\n// Initialise a struct that starts with struct_size with its ACS_<STRUCT>_INIT(&s) macro:\n\
         // it passes sizeof s to <struct>_init_sized, so the library writes no more than the\n\
         // struct this header declares (see \"Sized init\" above).\n",
    );
    for file in files {
        let text = std::fs::read_to_string(&file).expect("src/ffi file is readable");
        for line in text.lines() {
            let Some(rest) = line.trim_start().strip_prefix(MARK) else {
                continue;
            };
            let Some(name) = rest.split('(').next() else {
                continue;
            };
            if let Some(ty) = name.strip_suffix("_init_sized") {
                out.push_str(&format!(
                    "/** Initialises the {ty} at `p` with its defaults: {name}(p, sizeof *p). */\n\
                     #define {}_INIT(p) {name}((p), sizeof(*(p)))\n",
                    ty.to_uppercase()
                ));
            }
        }
    }
    out
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
