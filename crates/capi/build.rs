//! Gives the shared library an soname, so programs linked against an installed `libmaxpool.so` find a compatible
//! version at run time. Cargo's semver: `0.MINOR` releases may break the ABI, `MAJOR` releases from 1 on.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        let soname = match major {
            "0" => format!("libmaxpool.so.0.{}", env!("CARGO_PKG_VERSION_MINOR")),
            _ => format!("libmaxpool.so.{major}"),
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
    // The C test harness compiles C for the same target as this crate.
    for var in ["TARGET", "HOST"] {
        println!(
            "cargo:rustc-env=MAXPOOL_BUILD_{var}={}",
            std::env::var(var).unwrap_or_default()
        );
    }
    println!("cargo:rerun-if-changed=build.rs");
}
