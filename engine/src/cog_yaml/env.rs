//! `environment:` entries: `NAME=value`, with the names Cog reserves refused.

/// Names Cog reserves outright (its `environmentVariableDenyList`, exact entries).
pub const RESERVED_NAMES: &[&str] = &[
    "PATH",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "PYTHONUNBUFFERED",
    "LIBRARY_PATH",
    "HF_ENDPOINT",
    "HF_HUB_ENABLE_HF_TRANSFER",
];

/// Name prefixes Cog reserves (its deny list's `PREFIX_*` entries).
pub const RESERVED_PREFIXES: &[&str] = &[
    "R8_",
    "REPLICATE_",
    "CUDA_",
    "NVIDIA_",
    "NV_",
    "PGET_",
    "KUBERNETES_",
];

/// Why an `environment` entry was refused. Messages are Cog's where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvProblem {
    /// Not `NAME=value`, or an empty name.
    NotKeyValue,
    /// The name is not `[A-Za-z_][A-Za-z0-9_]*`.
    BadName(String),
    /// A reserved name or prefix; carries which rule matched.
    Reserved { name: String, rule: String },
}

impl EnvProblem {
    pub fn message(&self, entry: &str) -> String {
        match self {
            EnvProblem::NotKeyValue => {
                format!("environment variable {entry:?} is not in the KEY=VALUE format")
            }
            EnvProblem::BadName(name) => format!(
                "environment variable name {name:?} must start with a letter or underscore and \
                 contain only letters, digits and underscores"
            ),
            EnvProblem::Reserved { name, .. } => {
                format!("environment variable {name:?} is not allowed: reserved for internal use")
            }
        }
    }
}

/// The reserved rule a name falls under (`PATH`, `CUDA_*`), if any.
pub fn reserved_rule(name: &str) -> Option<String> {
    if RESERVED_NAMES.contains(&name) {
        return Some(name.to_string());
    }
    RESERVED_PREFIXES
        .iter()
        .find(|p| name.starts_with(*p))
        .map(|p| format!("{p}*"))
}

/// Split `NAME=value` and check the name.
pub(crate) fn parse_entry(entry: &str) -> Result<(String, String), EnvProblem> {
    let Some((name, value)) = entry.split_once('=') else {
        return Err(EnvProblem::NotKeyValue);
    };
    if name.is_empty() {
        return Err(EnvProblem::NotKeyValue);
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(EnvProblem::BadName(name.to_string()));
    }
    if let Some(rule) = reserved_rule(name) {
        return Err(EnvProblem::Reserved {
            name: name.to_string(),
            rule,
        });
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_and_prefixes_are_refused() {
        for name in [
            "PATH",
            "LD_LIBRARY_PATH",
            "PYTHONPATH",
            "VIRTUAL_ENV",
            "PYTHONUNBUFFERED",
        ] {
            let err = parse_entry(&format!("{name}=x")).unwrap_err();
            assert_eq!(
                err,
                EnvProblem::Reserved {
                    name: name.into(),
                    rule: name.into()
                }
            );
        }
        for (name, rule) in [
            ("R8_FOO", "R8_*"),
            ("REPLICATE_API_TOKEN", "REPLICATE_*"),
            ("CUDA_VISIBLE_DEVICES", "CUDA_*"),
            ("NVIDIA_DRIVER_CAPABILITIES", "NVIDIA_*"),
            ("NV_X", "NV_*"),
            ("PGET_X", "PGET_*"),
            ("KUBERNETES_SERVICE_HOST", "KUBERNETES_*"),
        ] {
            let err = parse_entry(&format!("{name}=1")).unwrap_err();
            assert_eq!(
                err,
                EnvProblem::Reserved {
                    name: name.into(),
                    rule: rule.into()
                }
            );
            assert!(err
                .message("")
                .ends_with("is not allowed: reserved for internal use"));
        }
    }

    #[test]
    fn near_misses_are_allowed() {
        for entry in [
            "PATHS=1",
            "MY_PATH=/x",
            "CUDA=1",
            "NVIDIA=1",
            "R8=1",
            "NVX=1",
            "path=1",
        ] {
            assert!(parse_entry(entry).is_ok(), "{entry}");
        }
    }

    #[test]
    fn format_checks() {
        assert_eq!(
            parse_entry("NAME=a=b").unwrap(),
            ("NAME".into(), "a=b".into())
        );
        assert_eq!(
            parse_entry("EMPTY=").unwrap(),
            ("EMPTY".into(), String::new())
        );
        assert_eq!(parse_entry("NOVALUE"), Err(EnvProblem::NotKeyValue));
        assert_eq!(parse_entry("=x"), Err(EnvProblem::NotKeyValue));
        assert_eq!(parse_entry("1X=y"), Err(EnvProblem::BadName("1X".into())));
        assert_eq!(parse_entry("A-B=y"), Err(EnvProblem::BadName("A-B".into())));
        assert_eq!(
            EnvProblem::NotKeyValue.message("NOVALUE"),
            "environment variable \"NOVALUE\" is not in the KEY=VALUE format"
        );
    }
}
