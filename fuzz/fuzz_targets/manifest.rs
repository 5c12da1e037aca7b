//! A block or stack manifest through the loader: TOML into the raw structs, the checked model,
//! every script compiled by the sandboxed Rhai engine. The first byte picks block or stack.
//! Any panic, stack overflow or timeout is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let block = kind & 1 == 0;
    let path = if block { "blocks.d/fuzz.toml" } else { "stacks.d/fuzz.toml" };
    if let Err(e) = cogpack::manifest::check_manifest(block, "fuzz", path, text) {
        let _ = e.to_string();
    }
});
