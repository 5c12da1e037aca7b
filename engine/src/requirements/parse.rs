//! The line parser for requirements files, following pip's rules: `\` continues a line, a
//! `#` at the start or after whitespace starts a comment (so `#egg=` in a URL is kept).

use super::*;

/// Options that take a value, by long name, with their short forms.
const VALUED: &[(&str, Option<&str>)] = &[
    ("--requirement", Some("-r")),
    ("--constraint", Some("-c")),
    ("--index-url", Some("-i")),
    ("--extra-index-url", None),
    ("--find-links", Some("-f")),
    ("--editable", Some("-e")),
    ("--trusted-host", None),
    ("--only-binary", None),
    ("--no-binary", None),
    ("--use-feature", None),
    ("--config-settings", None),
    ("--global-option", None),
];

/// Options that take no value.
const FLAGS: &[&str] = &["--pre", "--no-index", "--prefer-binary", "--require-hashes"];

pub(super) fn parse(path: &str, text: &str) -> Result<RequirementsFile, RequirementsError> {
    let physical: Vec<&str> = text.lines().collect();
    let mut lines = Vec::new();
    let mut i = 0;
    while i < physical.len() {
        let start = i;
        let mut logical = String::new();
        loop {
            let l = physical[i];
            match l.strip_suffix('\\') {
                Some(body) if i + 1 < physical.len() => {
                    logical.push_str(body);
                    i += 1;
                }
                Some(body) => {
                    logical.push_str(body);
                    break;
                }
                None => {
                    logical.push_str(l);
                    break;
                }
            }
        }
        let raw = physical[start..=i].join("\n");
        let line_no = start as u32 + 1;
        let kind = parse_line(path, line_no, &logical)?;
        lines.push(Line {
            line: line_no,
            end_line: i as u32 + 1,
            raw,
            kind,
        });
        i += 1;
    }
    Ok(RequirementsFile {
        path: path.to_string(),
        lines,
        included: Vec::new(),
    })
}

/// Splits `content # comment` at the first `#` that starts the line or follows whitespace.
fn split_comment(s: &str) -> (&str, Option<&str>) {
    let bytes = s.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            let content = s[..i].trim_end();
            let comment_start = content.len();
            return (content, Some(&s[comment_start..]));
        }
    }
    (s.trim_end(), None)
}

fn syntax(
    path: &str,
    line: u32,
    message: impl Into<String>,
    help: Option<&str>,
) -> RequirementsError {
    RequirementsError::Syntax {
        path: path.to_string(),
        line,
        message: message.into(),
        help: help.map(str::to_string),
    }
}

fn parse_line(path: &str, line: u32, logical: &str) -> Result<LineKind, RequirementsError> {
    let (content, comment) = split_comment(logical);
    let content = content.trim();
    if content.is_empty() {
        return Ok(if comment.is_some() {
            LineKind::Comment
        } else {
            LineKind::Blank
        });
    }
    if content.starts_with('-') {
        let option = parse_option(path, line, content)?;
        if option.name == "--editable" {
            let target = option.value.unwrap_or_default();
            let mut req = url_requirement(RequirementForm::Editable, &target);
            req.comment = comment.map(str::to_string);
            return Ok(LineKind::Requirement(req));
        }
        return Ok(LineKind::Option(option));
    }
    let mut req = parse_requirement(path, line, content)?;
    req.comment = comment.map(str::to_string);
    Ok(LineKind::Requirement(req))
}

fn parse_option(path: &str, line: u32, content: &str) -> Result<OptionLine, RequirementsError> {
    let (name, inline_value) = if let Some(long) = content.strip_prefix("--") {
        let end = long
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(long.len());
        let name = format!("--{}", &long[..end]);
        let rest = long[end..].trim_start_matches('=').trim();
        (name, rest)
    } else {
        // `-r file`, `-rfile`.
        let short = &content[..content
            .char_indices()
            .nth(2)
            .map_or(content.len(), |(i, _)| i)];
        let rest = content[short.len()..].trim();
        let long = VALUED
            .iter()
            .find(|(_, s)| *s == Some(short))
            .map(|(l, _)| l.to_string())
            .unwrap_or_else(|| short.to_string());
        (long, rest)
    };
    if FLAGS.contains(&name.as_str()) {
        return Ok(OptionLine { name, value: None });
    }
    if VALUED.iter().any(|(l, _)| *l == name) {
        if inline_value.is_empty() {
            return Err(syntax(path, line, format!("`{name}` needs a value"), None));
        }
        return Ok(OptionLine {
            name,
            value: Some(inline_value.to_string()),
        });
    }
    // An option cogpack does not know: kept as written, pip will judge it.
    Ok(OptionLine {
        name,
        value: (!inline_value.is_empty()).then(|| inline_value.to_string()),
    })
}

fn looks_like_url_or_path(s: &str) -> Option<RequirementForm> {
    let first = s.split_whitespace().next().unwrap_or("");
    if first.contains("://") || first.starts_with("file:") || first.starts_with("git+") {
        return Some(RequirementForm::Url);
    }
    if first.starts_with('.')
        || first.starts_with('/')
        || first.starts_with('~')
        || first.contains('/')
    {
        return Some(RequirementForm::Path);
    }
    let lower = first.to_ascii_lowercase();
    if [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return Some(RequirementForm::Path);
    }
    None
}

/// Splits off trailing per-requirement options (` --hash=...`).
fn split_options(s: &str) -> (&str, Vec<String>) {
    let bytes = s.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i - 1].is_ascii_whitespace() && s[i..].starts_with("--") {
            let opts = s[i..].split_whitespace().map(str::to_string).collect();
            return (s[..i].trim_end(), opts);
        }
    }
    (s, Vec::new())
}

fn parse_requirement(
    path: &str,
    line: u32,
    content: &str,
) -> Result<Requirement, RequirementsError> {
    let (body, options) = split_options(content);
    if let Some(form) = looks_like_url_or_path(body) {
        // For URLs and paths pip wants whitespace before the marker's `;`.
        let (target, marker) = match body.find(" ;").or_else(|| body.find("\t;")) {
            Some(i) => (body[..i].trim(), Some(body[i + 2..].trim().to_string())),
            None => match body.find("; ") {
                Some(i) => (body[..i].trim(), Some(body[i + 1..].trim().to_string())),
                None => (body.trim(), None),
            },
        };
        let mut req = url_requirement(form, target);
        req.marker = marker;
        req.options = options;
        return Ok(req);
    }
    let (spec_part, marker) = match body.split_once(';') {
        Some((a, m)) => (a.trim(), Some(m.trim().to_string())),
        None => (body.trim(), None),
    };
    let name_end = spec_part
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec_part.len());
    let name = &spec_part[..name_end];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(syntax(
            path,
            line,
            format!("`{content}` is not a requirement"),
            Some("write `name`, `name==1.0`, `name @ url`, a path, or an option such as `--index-url URL`"),
        ));
    }
    let mut rest = spec_part[name_end..].trim_start();
    let mut extras = Vec::new();
    if let Some(after) = rest.strip_prefix('[') {
        let Some(close) = after.find(']') else {
            return Err(syntax(
                path,
                line,
                format!("`{name}[`: unclosed extras"),
                None,
            ));
        };
        extras = after[..close]
            .split(',')
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect();
        rest = after[close + 1..].trim_start();
    }
    if let Some(url) = rest.strip_prefix('@') {
        let url = url.trim();
        if url.is_empty() {
            return Err(syntax(path, line, format!("`{name} @` needs a URL"), None));
        }
        let mut req = url_requirement(RequirementForm::Url, url);
        req.name = Some(name.to_string());
        req.extras = extras;
        req.marker = marker;
        req.options = options;
        return Ok(req);
    }
    let mut spec_text = rest.trim();
    if let Some(inner) = spec_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
    {
        spec_text = inner.trim();
    }
    if spec_text.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(syntax(
            path,
            line,
            format!("`{content}`: a version needs an operator"),
            Some(&format!("write `{name}=={spec_text}`")),
        ));
    }
    let spec = SpecifierSet::parse(spec_text).map_err(|e| {
        syntax(
            path,
            line,
            format!("`{content}`: {e}"),
            Some("specifiers look like `==2.0.1`, `>=1.0,<2`, `~=3.1`"),
        )
    })?;
    let specifier = spec_text.split_whitespace().collect::<String>();
    Ok(Requirement {
        form: RequirementForm::Named,
        name: Some(name.to_string()),
        extras,
        specifier,
        marker,
        url: None,
        file_version: None,
        options,
        comment: None,
        spec,
    })
}

/// A URL, path or editable requirement; the name comes from `#egg=` or a wheel filename.
fn url_requirement(form: RequirementForm, target: &str) -> Requirement {
    let mut name = None;
    let mut file_version = None;
    if let Some((_, frag)) = target.split_once('#') {
        for part in frag.split('&') {
            if let Some(egg) = part.strip_prefix("egg=") {
                name = Some(egg.to_string());
            }
        }
    }
    let path_part = target.split(['#', '?']).next().unwrap_or(target);
    let file = path_part.rsplit('/').next().unwrap_or(path_part);
    if let Some(stem) = file.strip_suffix(".whl") {
        // Wheel filenames: {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl; `+` may be
        // URL-encoded as %2B.
        let mut parts = stem.split('-');
        if let (Some(n), Some(v)) = (parts.next(), parts.next()) {
            name.get_or_insert_with(|| n.to_string());
            let v = v.replace("%2B", "+").replace("%2b", "+");
            if Version::parse(&v).is_ok() {
                file_version = Some(v);
            }
        }
    }
    Requirement {
        form,
        name,
        extras: Vec::new(),
        specifier: String::new(),
        marker: None,
        url: Some(target.to_string()),
        file_version,
        options: Vec::new(),
        comment: None,
        spec: SpecifierSet::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(line: &Line) -> &Requirement {
        match &line.kind {
            LineKind::Requirement(r) => r,
            other => panic!("not a requirement: {other:?}"),
        }
    }

    #[test]
    fn parses_every_kind_of_line() {
        let text = "\
# header comment

--extra-index-url https://download.pytorch.org/whl/cu118
-i https://pypi.org/simple
--find-links=./wheels
--pre
-r base.txt
-c constraints.txt
torch==2.0.1+cu118 # pinned
Torch_Vision [extra1, extra2] >= 0.15 , <0.16 ; python_version >= \"3.8\"
numpy (>=1.24)
pkg @ https://example.com/pkg-1.0.tar.gz ; sys_platform == \"linux\"
./dist/mywheel-1.2.3-py3-none-any.whl
https://files.example.com/torch-2.0.1%2Bcu118-cp311-cp311-linux_x86_64.whl
git+https://github.com/org/repo.git@v1#egg=repo
-e ./src/local_pkg
requests==2.31.0 \\
    --hash=sha256:abc
--some-future-option value
";
        let f = RequirementsFile::parse("requirements.txt", text).unwrap();
        let kinds: Vec<&str> = f
            .lines
            .iter()
            .map(|l| match &l.kind {
                LineKind::Blank => "blank",
                LineKind::Comment => "comment",
                LineKind::Option(_) => "option",
                LineKind::Requirement(_) => "req",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "comment", "blank", "option", "option", "option", "option", "option", "option",
                "req", "req", "req", "req", "req", "req", "req", "req", "req", "option"
            ]
        );
        let opt = |i: usize| match &f.lines[i].kind {
            LineKind::Option(o) => o.clone(),
            _ => unreachable!(),
        };
        assert_eq!(opt(2).name, "--extra-index-url");
        assert_eq!(
            opt(3),
            OptionLine {
                name: "--index-url".into(),
                value: Some("https://pypi.org/simple".into())
            }
        );
        assert_eq!(opt(4).value.as_deref(), Some("./wheels"));
        assert_eq!(
            opt(5),
            OptionLine {
                name: "--pre".into(),
                value: None
            }
        );
        assert_eq!(opt(6).name, "--requirement");
        assert_eq!(opt(7).name, "--constraint");
        assert_eq!(opt(17).name, "--some-future-option");

        let torch = req(&f.lines[8]);
        assert_eq!(torch.specifier, "==2.0.1+cu118");
        assert_eq!(torch.comment.as_deref(), Some(" # pinned"));
        assert_eq!(f.lines[8].line, 9);

        let tv = req(&f.lines[9]);
        assert_eq!(tv.normalized_name().as_deref(), Some("torch-vision"));
        assert_eq!(tv.extras, ["extra1", "extra2"]);
        assert_eq!(tv.specifier, ">=0.15,<0.16");
        assert_eq!(tv.marker.as_deref(), Some("python_version >= \"3.8\""));

        assert_eq!(req(&f.lines[10]).specifier, ">=1.24");
        let pkg = req(&f.lines[11]);
        assert_eq!(
            (pkg.form, pkg.name.as_deref()),
            (RequirementForm::Url, Some("pkg"))
        );
        assert_eq!(pkg.marker.as_deref(), Some("sys_platform == \"linux\""));

        let wheel = req(&f.lines[12]);
        assert_eq!(wheel.form, RequirementForm::Path);
        assert_eq!(
            (wheel.name.as_deref(), wheel.file_version.as_deref()),
            (Some("mywheel"), Some("1.2.3"))
        );
        let remote = req(&f.lines[13]);
        assert_eq!(remote.file_version.as_deref(), Some("2.0.1+cu118"));
        assert_eq!(remote.pinned_version().unwrap().to_string(), "2.0.1+cu118");
        assert_eq!(req(&f.lines[14]).name.as_deref(), Some("repo"));
        assert_eq!(req(&f.lines[15]).form, RequirementForm::Editable);

        let hashed = &f.lines[16];
        assert_eq!((hashed.line, hashed.end_line), (17, 18));
        assert_eq!(req(hashed).options, ["--hash=sha256:abc"]);
        assert_eq!(hashed.raw, "requests==2.31.0 \\\n    --hash=sha256:abc");
    }

    #[test]
    fn bad_lines_name_the_line() {
        let e = RequirementsFile::parse("reqs.txt", "numpy\ntorch 2.0.1\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("reqs.txt:2: `torch 2.0.1`: a version needs an operator"),
            "{msg}"
        );
        assert!(msg.contains("help: write `torch==2.0.1`"), "{msg}");
        let e = RequirementsFile::parse("reqs.txt", "torch==2.x\n").unwrap_err();
        assert!(e.to_string().contains("reqs.txt:1:"), "{e}");
        let e = RequirementsFile::parse("reqs.txt", "\n\n-r\n").unwrap_err();
        assert_eq!(e.to_string(), "reqs.txt:3: `--requirement` needs a value");
    }

    #[test]
    fn odd_input_never_panics() {
        let odd = [
            "ü",
            "é==1",
            "torch==ü",
            "-",
            "--",
            "-r",
            "#",
            "\\",
            "torch[",
            "torch @",
            "x ; \"",
            "x; sys_platform == 'ü",
            "--index-url=",
            "-e",
            "./",
            "https://x/ü.whl",
            "torch==2.0.1+",
            "a==1 --hash",
            "  \t ",
            "[x]",
        ];
        for line in odd {
            let _ = RequirementsFile::parse("r.txt", line);
            if let Ok(f) = RequirementsFile::parse("r.txt", line) {
                for found in f.requirements() {
                    let _ = found.requirement.applies_on_linux();
                    let _ = found.requirement.pinned_version();
                }
            }
        }
        for v in [
            "ü", "1.ü", "1.0.", "1..0", "v", "1!", "1.0+ü", "1.0a.b", "==", "~=1", ">=1.*",
        ] {
            let _ = Version::parse(v);
            let _ = SpecifierSet::parse(v);
        }
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_name("Torch_Vision"), "torch-vision");
        assert_eq!(normalize_name("a.-_b"), "a-b");
        assert_eq!(normalize_name("tensorflow"), "tensorflow");
    }
}
