//! cog.yaml text through the whole checker: YAML events to the located tree, the raw reader,
//! Cog's rules, the plain map scripts see and the effective config; and every diagnostic
//! rendered, as the CLI would. Any panic, stack overflow or timeout is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

use cogpack::cog_yaml;
use cogpack::diagnostics::{render, HasDiagnostics, RenderStyle, SourceFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = SourceFile::new("cog.yaml", text);
    match cog_yaml::check(&source, None) {
        Ok(loaded) => {
            let _ = loaded.config.plain_map();
            let _ = loaded.config.effective_config_json();
            let _ = render(&loaded.warnings, RenderStyle::Plain);
        }
        Err(e) => {
            let _ = render(&e.diagnostics(), RenderStyle::Plain);
        }
    }
});
