//! The committed C header must be exactly what cbindgen generates from the current
//! source: CI fails on a stale `include/xconnauth.h`. The cbindgen crate is pinned in
//! Cargo.toml, so no cbindgen binary is needed.
//!
//! To regenerate: `make -C ffi header`, or
//! `XCONNAUTH_UPDATE_HEADER=1 cargo test -p xconnauth-ffi --test header`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header_path = crate_dir.join("../include/xconnauth.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml must parse");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen must be able to generate the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);

    if std::env::var_os("XCONNAUTH_UPDATE_HEADER").is_some() {
        std::fs::write(&header_path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read(&header_path).unwrap_or_default();
    if committed != fresh {
        let committed = String::from_utf8_lossy(&committed);
        let fresh = String::from_utf8_lossy(&fresh);
        let first_diff = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "one file is a prefix of the other".to_string(),
                |i| {
                    format!(
                        "line {}:\n  committed: {}\n  generated: {}",
                        i + 1,
                        committed.lines().nth(i).unwrap_or(""),
                        fresh.lines().nth(i).unwrap_or("")
                    )
                },
            );
        panic!(
            "include/xconnauth.h is stale: it differs from what cbindgen generates from \
             ffi/src. Regenerate it with `make -C ffi header` (or \
             XCONNAUTH_UPDATE_HEADER=1 cargo test -p xconnauth-ffi --test header) and \
             commit it.\nFirst difference at {first_diff}"
        );
    }
}
