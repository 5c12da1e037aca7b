//! The rewrite of a requirements file for a resolved variant: chosen packages' lines get a
//! new specifier, missing package indexes are added at the top, and every other line is
//! kept byte for byte. A file included with `-r` is inlined only when one of its lines must
//! change (the generated file cannot edit the user's other files); otherwise the `-r` line
//! is kept and listed in `references`.

use super::*;

/// Give the requirement lines of `package` a new specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// PEP 503 normalised package name (`torch`).
    pub package: String,
    /// The specifier to write (`==2.0.1`).
    pub specifier: String,
    /// Why, for the plan (`torch 2.0.1, cu118 build (compat/torch.toml:40)`).
    pub why: String,
}

/// What to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewritePlan {
    /// Packages whose lines change.
    pub replacements: Vec<Replacement>,
    /// Index URLs to add with `--extra-index-url` unless the file already names them, each
    /// with why.
    pub extra_index_urls: Vec<(String, String)>,
}

/// A changed line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedLine {
    /// The file the line is in.
    pub path: String,
    /// Its 1-based line number there.
    pub line: u32,
    /// The text before.
    pub before: String,
    /// The text after.
    pub after: String,
    /// Why it changed.
    pub why: String,
}

/// A line added by the rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddedLine {
    /// The line.
    pub text: String,
    /// Why it was added.
    pub why: String,
}

/// The rewritten requirements: a generated file for the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewrittenRequirements {
    /// The file it was made from.
    pub source: String,
    /// The full text to install from.
    pub text: String,
    /// Lines whose specifier changed.
    pub changed_lines: Vec<ChangedLine>,
    /// Lines added (package indexes).
    pub added_lines: Vec<AddedLine>,
    /// Included files whose content was inlined because a line in them changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inlined: Vec<String>,
    /// Files the text still includes with `-r`/`-c` (relative to the source file), which the
    /// plan must place next to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

impl RewrittenRequirements {
    /// True when the text differs from the source file.
    pub fn changed(&self) -> bool {
        !self.changed_lines.is_empty() || !self.added_lines.is_empty() || !self.inlined.is_empty()
    }
}

fn norm_url(u: &str) -> &str {
    u.trim().trim_end_matches('/')
}

/// Applies `plan` to `file` (and the files it includes).
pub fn rewrite(file: &RequirementsFile, plan: &RewritePlan) -> RewrittenRequirements {
    let mut out = RewrittenRequirements {
        source: file.path.clone(),
        text: String::new(),
        changed_lines: Vec::new(),
        added_lines: Vec::new(),
        inlined: Vec::new(),
        references: Vec::new(),
    };
    let known: Vec<String> = file
        .options()
        .iter()
        .filter(|(_, _, o)| o.name == "--index-url" || o.name == "--extra-index-url")
        .filter_map(|(_, _, o)| o.value.as_deref().map(|v| norm_url(v).to_string()))
        .collect();
    let mut lines = Vec::new();
    for (url, why) in &plan.extra_index_urls {
        if known.iter().any(|k| k == norm_url(url))
            || out
                .added_lines
                .iter()
                .any(|a| a.text.ends_with(url.as_str()))
        {
            continue;
        }
        let text = format!("--extra-index-url {url}");
        out.added_lines.push(AddedLine {
            text: text.clone(),
            why: why.clone(),
        });
        lines.push(text);
    }
    render(file, plan, &mut out, &mut lines, true);
    out.text = lines.join("\n");
    out.text.push('\n');
    out
}

fn touches(file: &RequirementsFile, plan: &RewritePlan) -> bool {
    file.lines.iter().any(|l| match &l.kind {
        LineKind::Requirement(r) => replacement_for(r, plan).is_some(),
        LineKind::Option(o) if o.name == "--requirement" => file.included.iter().any(|i| {
            i.from_line == l.line && i.kind == IncludeKind::Requirements && touches(&i.file, plan)
        }),
        _ => false,
    })
}

fn replacement_for<'p>(r: &Requirement, plan: &'p RewritePlan) -> Option<&'p Replacement> {
    if r.form != RequirementForm::Named || !r.applies_on_linux() {
        return None;
    }
    let name = r.normalized_name()?;
    plan.replacements.iter().find(|p| p.package == name)
}

fn render(
    file: &RequirementsFile,
    plan: &RewritePlan,
    out: &mut RewrittenRequirements,
    lines: &mut Vec<String>,
    top: bool,
) {
    let dir = Path::new(&file.path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for line in &file.lines {
        match &line.kind {
            LineKind::Requirement(r) => {
                if let Some(rep) = replacement_for(r, plan) {
                    let after = requirement_text(r, &rep.specifier);
                    if after != line.raw {
                        out.changed_lines.push(ChangedLine {
                            path: file.path.clone(),
                            line: line.line,
                            before: line.raw.clone(),
                            after: after.clone(),
                            why: rep.why.clone(),
                        });
                        lines.push(after);
                        continue;
                    }
                }
                lines.push(line.raw.clone());
            }
            LineKind::Option(o) if o.name == "--requirement" || o.name == "--constraint" => {
                let inc = file.included.iter().find(|i| i.from_line == line.line);
                match inc {
                    Some(inc)
                        if inc.kind == IncludeKind::Requirements && touches(&inc.file, plan) =>
                    {
                        lines.push(format!(
                            "# cogpack: inlined from {} (included at {}:{})",
                            inc.file.path, file.path, line.line
                        ));
                        out.inlined.push(inc.file.path.clone());
                        render(&inc.file, plan, out, lines, false);
                        lines.push(format!("# cogpack: end of {}", inc.file.path));
                    }
                    _ => {
                        if let Some(v) = &o.value {
                            let reference = if top {
                                v.clone()
                            } else {
                                dir.join(v).display().to_string()
                            };
                            if !out.references.contains(&reference) {
                                out.references.push(reference);
                            }
                        }
                        lines.push(line.raw.clone());
                    }
                }
            }
            _ => lines.push(line.raw.clone()),
        }
    }
}

fn requirement_text(r: &Requirement, specifier: &str) -> String {
    let mut s = r.name.clone().unwrap_or_default();
    if !r.extras.is_empty() {
        s.push('[');
        s.push_str(&r.extras.join(","));
        s.push(']');
    }
    s.push_str(specifier);
    if let Some(m) = &r.marker {
        s.push_str(" ; ");
        s.push_str(m);
    }
    for o in &r.options {
        s.push(' ');
        s.push_str(o);
    }
    if let Some(c) = &r.comment {
        s.push_str(c);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> RewritePlan {
        RewritePlan {
            replacements: vec![
                Replacement {
                    package: "torch".into(),
                    specifier: "==2.0.1".into(),
                    why: "cu118 build".into(),
                },
                Replacement {
                    package: "torchvision".into(),
                    specifier: "==0.15.2".into(),
                    why: "paired with torch 2.0.1".into(),
                },
            ],
            extra_index_urls: vec![(
                "https://download.pytorch.org/whl/cu118".into(),
                "torch cu118".into(),
            )],
        }
    }

    #[test]
    fn swaps_only_the_chosen_lines_and_keeps_the_rest() {
        let text = "# my deps\n--index-url https://my.mirror/simple\nTorch==2.0.1 # gpu\ntorchvision[io] ; sys_platform == \"linux\"\nnumpy==1.26.4\n\n--pre\n";
        let f = RequirementsFile::parse("requirements.txt", text).unwrap();
        let r = rewrite(&f, &plan());
        assert_eq!(
            r.text,
            "--extra-index-url https://download.pytorch.org/whl/cu118\n# my deps\n--index-url https://my.mirror/simple\nTorch==2.0.1 # gpu\ntorchvision[io]==0.15.2 ; sys_platform == \"linux\"\nnumpy==1.26.4\n\n--pre\n"
        );
        assert_eq!(
            r.changed_lines.len(),
            1,
            "the torch line already says ==2.0.1"
        );
        assert_eq!(r.changed_lines[0].line, 4);
        assert_eq!(r.added_lines.len(), 1);
        assert!(r.changed());
    }

    #[test]
    fn does_not_repeat_an_index_the_user_already_has() {
        let text = "--extra-index-url https://download.pytorch.org/whl/cu118/\ntorch==2.0.1\n";
        let f = RequirementsFile::parse("r.txt", text).unwrap();
        let r = rewrite(&f, &plan());
        assert_eq!(r.text, text);
        assert!(!r.changed());
    }

    #[test]
    fn inlines_an_include_only_when_it_must_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("requirements.txt"),
            "-r ml.txt\n-r other.txt\n-c pins.txt\nflask\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("ml.txt"), "torch>=2.0\n").unwrap();
        std::fs::write(dir.path().join("other.txt"), "requests\n").unwrap();
        std::fs::write(dir.path().join("pins.txt"), "torch==2.0.1\n").unwrap();
        let f = RequirementsFile::load(dir.path(), "requirements.txt")
            .unwrap();
        let found: Vec<(String, bool)> = f
            .requirements()
            .iter()
            .map(|r| (r.requirement.name.clone().unwrap(), r.constraint))
            .collect();
        assert_eq!(
            found,
            [
                ("torch".into(), false),
                ("requests".into(), false),
                ("torch".into(), true),
                ("flask".into(), false)
            ]
        );
        let r = rewrite(&f, &plan());
        assert_eq!(r.inlined, ["ml.txt"]);
        assert_eq!(r.references, ["other.txt", "pins.txt"]);
        assert!(r.text.contains(
            "# cogpack: inlined from ml.txt (included at requirements.txt:1)\ntorch==2.0.1\n"
        ));
        assert!(r.text.contains("\n-r other.txt\n-c pins.txt\nflask\n"));
    }

    #[test]
    fn include_cycles_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "-r b.txt\n").unwrap();
        std::fs::write(dir.path().join("b.txt"), "numpy\n-r a.txt\n").unwrap();
        let e = RequirementsFile::load(dir.path(), "a.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.txt:2: `a.txt` includes a file that is already being read: a.txt -> b.txt -> a.txt"
        );
        let e = RequirementsFile::load(dir.path(), "missing.txt").unwrap_err();
        assert!(
            e.to_string().starts_with("cannot read missing.txt: "),
            "{e}"
        );
    }
}
