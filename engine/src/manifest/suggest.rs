//! "did you mean `uv`?" hints.

/// The candidate closest to `name`, when it is close enough to be a likely typo (the shared
/// rule of [`crate::diagnostics::suggest`]).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    crate::diagnostics::suggest(name, candidates)
}

/// `did you mean `x`?` or nothing.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_close_names_only() {
        assert_eq!(super::closest("uvv", ["uv", "torch"]), Some("uv"));
        assert_eq!(super::closest("pip-requirement", ["pip-requirements", "uv"]), Some("pip-requirements"));
        assert_eq!(super::closest("banana", ["uv", "torch"]), None);
        assert_eq!(super::closest("vnev", ["venv", "apt"]), Some("venv"));
    }
}
