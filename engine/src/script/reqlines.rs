//! What scripts see of the project's Python requirements: one map per line, made from the
//! resolver's parser ([`crate::requirements`]), so blocks and the resolver read every line
//! the same way.

use rhai::Dynamic;

use crate::requirements::{Line, LineKind, RequirementForm};

/// One requirement or option line, as scripts see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementLine {
    /// PEP 503 name (`torch-vision`); empty for option lines and for paths or URLs whose
    /// name is unknown.
    pub name: String,
    /// `named`, `url` (`name @ https://...`), `path` (`./dist/x.whl`), `editable` (`-e ...`)
    /// or `option` (`--extra-index-url ...`, `-r other.txt`).
    pub form: String,
    /// The version specifier (`==2.0.1+cu118`, `>=1,<2`); for a URL requirement `@ URL`.
    pub specifier: String,
    /// The environment marker after `;`, if any.
    pub marker: String,
    /// The URL or path of `url`, `path` and `editable` lines; the value of an option.
    pub target: String,
    /// The option's long name (`--find-links` for `-f`); empty for requirements.
    pub option: String,
    /// The line as written, comment removed and continuations joined.
    pub line: String,
    /// Where it came from: `requirements.txt:3` or `cog.yaml build.python_packages[0]`.
    pub origin: String,
}

impl RequirementLine {
    /// The script view of a parsed line; `None` for blank and comment lines.
    pub fn from_line(line: &Line, origin: String) -> Option<RequirementLine> {
        let text = written(&line.raw);
        let mut out = RequirementLine {
            name: String::new(),
            form: String::new(),
            specifier: String::new(),
            marker: String::new(),
            target: String::new(),
            option: String::new(),
            line: text,
            origin,
        };
        match &line.kind {
            LineKind::Blank | LineKind::Comment => return None,
            LineKind::Option(o) => {
                out.form = "option".into();
                out.option = o.name.clone();
                out.target = o.value.clone().unwrap_or_default();
            }
            LineKind::Requirement(r) => {
                out.name = r.normalized_name().unwrap_or_default();
                out.form = match r.form {
                    RequirementForm::Named => "named",
                    RequirementForm::Url => "url",
                    RequirementForm::Path => "path",
                    RequirementForm::Editable => "editable",
                }
                .into();
                out.target = r.url.clone().unwrap_or_default();
                out.specifier = match r.form {
                    RequirementForm::Url => format!("@ {}", out.target),
                    _ => r.specifier.clone(),
                };
                out.marker = r.marker.clone().unwrap_or_default();
            }
        }
        Some(out)
    }

    /// As a Rhai map with the fields above.
    pub fn to_dynamic(&self) -> Dynamic {
        let mut m = rhai::Map::new();
        for (k, v) in [
            ("name", &self.name),
            ("form", &self.form),
            ("specifier", &self.specifier),
            ("marker", &self.marker),
            ("target", &self.target),
            ("option", &self.option),
            ("line", &self.line),
            ("origin", &self.origin),
        ] {
            m.insert(k.into(), Dynamic::from(v.clone()));
        }
        Dynamic::from_map(m)
    }
}

/// The line without its comment, continuations joined by a space.
fn written(raw: &str) -> String {
    let joined = raw.replace("\\\r\n", " ").replace("\\\n", " ");
    let cut = if joined.trim_start().starts_with('#') {
        0
    } else {
        joined.find(" #").or_else(|| joined.find("\t#")).unwrap_or(joined.len())
    };
    joined[..cut].trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::RequirementsFile;

    fn lines(text: &str) -> Vec<RequirementLine> {
        let file = RequirementsFile::parse("r.txt", text).unwrap();
        file.lines
            .iter()
            .filter_map(|l| RequirementLine::from_line(l, format!("r.txt:{}", l.line)))
            .collect()
    }

    #[test]
    fn each_form_has_its_fields() {
        let l = lines(
            "Torch_Vision[extra]==0.15.2+cu118 ; python_version < '3.12'  # pin\n\
             # only a comment\n\
             \n\
             --extra-index-url https://download.pytorch.org/whl/cu118\n\
             my_package @ file:///wheels/my_package-0.1-py3-none-any.whl\n\
             ./dist/local_pkg-1.0-py3-none-any.whl\n\
             -e ./src/pkg\n\
             -f ./wheels\n\
             numpy \\\n  >=1.26\n",
        );
        assert_eq!(l.len(), 7, "{l:#?}");
        assert_eq!((l[0].name.as_str(), l[0].form.as_str()), ("torch-vision", "named"));
        assert_eq!(l[0].specifier, "==0.15.2+cu118");
        assert_eq!(l[0].marker, "python_version < '3.12'");
        assert_eq!(l[0].line, "Torch_Vision[extra]==0.15.2+cu118 ; python_version < '3.12'");
        assert_eq!(l[0].origin, "r.txt:1");
        assert_eq!((l[1].form.as_str(), l[1].option.as_str()), ("option", "--extra-index-url"));
        assert_eq!((l[1].name.as_str(), l[1].target.as_str()), ("", "https://download.pytorch.org/whl/cu118"));
        assert_eq!((l[2].name.as_str(), l[2].form.as_str()), ("my-package", "url"));
        assert_eq!(l[2].specifier, "@ file:///wheels/my_package-0.1-py3-none-any.whl");
        assert_eq!((l[3].name.as_str(), l[3].form.as_str()), ("local-pkg", "path"));
        assert_eq!(l[3].target, "./dist/local_pkg-1.0-py3-none-any.whl");
        assert_eq!((l[4].form.as_str(), l[4].target.as_str()), ("editable", "./src/pkg"));
        assert_eq!((l[5].option.as_str(), l[5].target.as_str()), ("--find-links", "./wheels"));
        assert_eq!((l[6].name.as_str(), l[6].specifier.as_str()), ("numpy", ">=1.26"));
        assert_eq!(l[6].line, "numpy    >=1.26");
        assert_eq!(l[6].origin, "r.txt:9");
    }
}
