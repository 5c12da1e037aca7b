//! A requirements file through the parser, the marker evaluator, version and specifier
//! parsing, the script view of each line, and the torch rewrite. Any panic, stack overflow or
//! timeout is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

use cogpack::requirements::{self, RequirementsFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = RequirementsFile::parse("requirements.txt", text) else {
        return;
    };
    for found in file.requirements() {
        let r = found.requirement;
        let _ = r.applies_on_linux();
        let _ = r.pinned_version();
        let _ = r.normalized_name();
        let _ = r.specifier_set().lower_bound();
        if let Some(m) = &r.marker {
            let _ = requirements::evaluate_on_linux(m);
        }
    }
    for line in &file.lines {
        let _ = cogpack::script::reqlines::RequirementLine::from_line(line, "requirements.txt:1".into());
    }
    let _ = file.options();
});
