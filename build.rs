//! Link flags for the berth binary.

fn main() {
    // Every `berth` process (the CLI, each container's monitor, each exec helper) is a
    // fresh exec of a ~30 MB PIE with ~40,000 relative relocations. Packed RELR
    // relocations (glibc >= 2.36, binutils >= 2.38, as on Debian 12) shrink that table
    // from ~1 MB to a few KB that the loader applies faster, and those pages are never
    // read into memory.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
