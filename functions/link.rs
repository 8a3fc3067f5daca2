//! The build script of every function binary and of the empty baseline (`infra/hello`): on Linux
//! they are linked as position-dependent executables (`-no-pie`).
//!
//! A position-independent executable this size (15–20 MB) carries ~60,000 relative relocations
//! that the dynamic loader applies at every start, writing to 1.5 MB of otherwise untouched pages
//! before `main` runs: about 2 ms of each cold start (docs/performance.md, cold starts). Linked
//! at a fixed address those pointers are resolved by the linker instead. The price: the
//! binary's own code and data are not randomised by ASLR (its heap, stack, libraries and
//! mappings still are). `ACCOLADE_PIE=1` at build time keeps the default (PIE).
//!
//! Only the binaries: the library and proc-macro crates stay position-independent (they must).

fn main() {
    println!("cargo:rerun-if-env-changed=ACCOLADE_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let keep_pie = std::env::var("ACCOLADE_PIE").as_deref() == Ok("1");
    if linux && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
