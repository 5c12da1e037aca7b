//! The environment, working directory and user a stage has accumulated.
//!
//! Raw LLB inherits nothing from images, so we track `ENV`/`WORKDIR`/`USER` ourselves:
//! every chain starts from [`BASE_PATH`], `Op::Env` values expand `$VAR` and `${VAR}`
//! against the environment so far (unknown variables expand to nothing, `\$` is a literal
//! `$`), and a stage built on another stage starts from that stage's environment.

/// The `PATH` every chain starts with (Docker's default).
pub const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Accumulated `ENV`, `WORKDIR` and `USER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Variables in first-set order; setting a key again replaces its value in place.
    vars: Vec<(String, String)>,
    pub workdir: Option<String>,
    pub user: Option<String>,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            vars: vec![("PATH".into(), BASE_PATH.into())],
            workdir: None,
            user: None,
        }
    }
}

impl Environment {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value` as given (no expansion).
    pub fn set(&mut self, key: &str, value: String) {
        match self.vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((key.to_string(), value)),
        }
    }

    /// Sets `key` to `value` expanded against the environment so far.
    pub fn set_expanded(&mut self, key: &str, value: &str) {
        let value = self.expand(value);
        self.set(key, value);
    }

    /// Applies a `KEY=value` entry (value expanded); entries without `=` are ignored
    /// (the plan validator rejects them).
    pub fn apply_entry(&mut self, entry: &str) {
        if let Some((k, v)) = entry.split_once('=') {
            self.set_expanded(k, v);
        }
    }

    /// `KEY=value` entries, in order.
    pub fn entries(&self) -> Vec<String> {
        self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// Expands `$VAR`, `${VAR}` and `\$` in `s`.
    pub fn expand(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(pos) = rest.find(['$', '\\']) {
            out.push_str(&rest[..pos]);
            let tail = &rest[pos..];
            if let Some(after) = tail.strip_prefix("\\$") {
                out.push('$');
                rest = after;
            } else if let Some(after) = tail.strip_prefix('\\') {
                out.push('\\');
                rest = after;
            } else if let Some(braced) = tail.strip_prefix("${") {
                match braced.find('}') {
                    Some(end) if is_name(&braced[..end]) => {
                        out.push_str(self.get(&braced[..end]).unwrap_or(""));
                        rest = &braced[end + 1..];
                    }
                    _ => {
                        out.push('$');
                        rest = &tail[1..];
                    }
                }
            } else {
                let name_len = tail[1..]
                    .char_indices()
                    .find(|(i, c)| {
                        !(c.is_ascii_alphanumeric() || *c == '_') || (*i == 0 && c.is_ascii_digit())
                    })
                    .map_or(tail.len() - 1, |(i, _)| i);
                if name_len == 0 {
                    out.push('$');
                    rest = &tail[1..];
                } else {
                    out.push_str(self.get(&tail[1..1 + name_len]).unwrap_or(""));
                    rest = &tail[1 + name_len..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
