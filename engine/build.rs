// Rebuild when the embedded manifests or compat tables change: they are included with
// `include_str!`-style embedding (see `src/builtin.rs`), and cargo must know to look at them.
fn main() {
    for dir in ["../blocks.d", "../stacks.d", "../compat"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
