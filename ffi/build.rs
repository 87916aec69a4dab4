//! Gives the shared library an ELF soname that carries the major version
//! (`libxconnauth.so.0`), so programs linked against it keep working across compatible
//! upgrades and refuse an incompatible one. The `ffi/Makefile` installs the file under
//! that name.

fn main() {
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let vendor = std::env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    // ELF platforms only: Apple's linker spells it `-install_name`, Windows has no soname.
    if family.split(',').any(|f| f == "unix") && vendor != "apple" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libxconnauth.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
