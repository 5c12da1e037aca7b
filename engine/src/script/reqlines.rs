//! A light reading of Python requirement lines, enough for blocks to detect packages
//! (`torch`, `tensorflow`) and emit their constraints. The resolver owns the full parser and
//! the rewriting; this only splits `name[extras] specifier ; marker`.

use rhai::Dynamic;

/// One requirement line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementLine {
    /// Normalised name (lowercase, `_` and `.` as `-`); empty for option lines (`--extra-index-url ...`).
    pub name: String,
    /// What follows the name and extras: `==2.0.1+cu118`, `>=1,<2`, `@ file://x.whl`, or the
    /// whole line for option lines.
    pub specifier: String,
    /// The environment marker after `;`, if any.
    pub marker: String,
    /// The line as written (comments removed).
    pub line: String,
    /// Where it came from: `requirements.txt:3` or `cog.yaml build.python_packages[0]`.
    pub origin: String,
}

impl RequirementLine {
    /// As a Rhai map `#{name, specifier, marker, line, origin}`.
    pub fn to_dynamic(&self) -> Dynamic {
        let mut m = rhai::Map::new();
        m.insert("name".into(), Dynamic::from(self.name.clone()));
        m.insert("specifier".into(), Dynamic::from(self.specifier.clone()));
        m.insert("marker".into(), Dynamic::from(self.marker.clone()));
        m.insert("line".into(), Dynamic::from(self.line.clone()));
        m.insert("origin".into(), Dynamic::from(self.origin.clone()));
        Dynamic::from_map(m)
    }
}

/// Parses one line; `None` for blank and comment lines.
pub fn parse_line(raw: &str, origin: String) -> Option<RequirementLine> {
    let without_comment = match raw.find(" #").or_else(|| raw.starts_with('#').then_some(0)) {
        Some(i) => &raw[..i],
        None => raw,
    };
    let line = without_comment.trim();
    if line.is_empty() {
        return None;
    }
    if line.starts_with('-') {
        return Some(RequirementLine {
            name: String::new(),
            specifier: line.to_string(),
            marker: String::new(),
            line: line.to_string(),
            origin,
        });
    }
    let (req, marker) = match line.split_once(';') {
        Some((r, m)) => (r.trim(), m.trim()),
        None => (line, ""),
    };
    let name_end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(req.len());
    let name = normalise(&req[..name_end]);
    let mut rest = req[name_end..].trim_start();
    if rest.starts_with('[') {
        rest = rest.find(']').map_or("", |i| rest[i + 1..].trim_start());
    }
    Some(RequirementLine {
        name,
        specifier: rest.trim().to_string(),
        marker: marker.to_string(),
        line: line.to_string(),
        origin,
    })
}

/// Normalises a package name the way pip compares them.
pub fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names_specifiers_and_markers() {
        let l = parse_line("Torch_Vision[extra]==0.15.2+cu118 ; python_version < '3.12'  # pin", "r:1".into()).unwrap();
        assert_eq!(l.name, "torch-vision");
        assert_eq!(l.specifier, "==0.15.2+cu118");
        assert_eq!(l.marker, "python_version < '3.12'");
        let opt = parse_line("--extra-index-url https://download.pytorch.org/whl/cu118", "r:2".into()).unwrap();
        assert_eq!(opt.name, "");
        assert!(parse_line("   # only a comment", "r:3".into()).is_none());
        let url = parse_line("my_package @ file://my_package-0.1-py2.py3-none-any.whl", "r:4".into()).unwrap();
        assert_eq!((url.name.as_str(), url.specifier.as_str()), ("my-package", "@ file://my_package-0.1-py2.py3-none-any.whl"));
    }
}
