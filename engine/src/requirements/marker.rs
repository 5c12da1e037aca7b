//! A small evaluator for PEP 508 environment markers, enough to tell whether a requirement
//! line applies to a Linux image: `sys_platform`, `platform_system` and `os_name` are known
//! (`linux`, `Linux`, `posix`); anything else (`python_version`, `platform_machine`, ...) is
//! unknown, and a line whose marker is unknown is treated as applying.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Op(String),
    And,
    Or,
    Open,
    Close,
}

fn lex(s: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == ')' {
            out.push(Tok::Close);
            i += 1;
        } else if c == '"' || c == '\'' {
            let end = chars[i + 1..].iter().position(|&d| d == c)? + i + 1;
            out.push(Tok::Str(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else if "=!<>~".contains(c) {
            let mut op = String::from(c);
            while i + op.len() < chars.len() && "=".contains(chars[i + op.len()]) {
                op.push('=');
            }
            i += op.len();
            out.push(Tok::Op(op));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match word.as_str() {
                "and" => out.push(Tok::And),
                "or" => out.push(Tok::Or),
                "in" => out.push(Tok::Op("in".into())),
                "not" => out.push(Tok::Op("not".into())),
                _ => out.push(Tok::Ident(word)),
            }
        } else {
            return None;
        }
    }
    // `not in` as one operator.
    let mut merged = Vec::new();
    for t in out {
        if t == Tok::Op("in".into()) && merged.last() == Some(&Tok::Op("not".into())) {
            merged.pop();
            merged.push(Tok::Op("not in".into()));
        } else {
            merged.push(t);
        }
    }
    Some(merged)
}

fn value_of(name: &str) -> Option<&'static str> {
    match name {
        "sys_platform" => Some("linux"),
        "platform_system" => Some("Linux"),
        "os_name" => Some("posix"),
        _ => None,
    }
}

/// The deepest parenthesised nesting evaluated; a deeper marker counts as unknown (the line
/// applies, and pip judges it). Real markers nest one or two levels.
pub(crate) const MAX_MARKER_DEPTH: usize = 32;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Open parentheses around the current position.
    depth: usize,
}

impl Parser {
    fn or(&mut self) -> Option<Option<bool>> {
        let mut acc = self.and()?;
        while self.toks.get(self.pos) == Some(&Tok::Or) {
            self.pos += 1;
            let rhs = self.and()?;
            acc = match (acc, rhs) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            };
        }
        Some(acc)
    }

    fn and(&mut self) -> Option<Option<bool>> {
        let mut acc = self.atom()?;
        while self.toks.get(self.pos) == Some(&Tok::And) {
            self.pos += 1;
            let rhs = self.atom()?;
            acc = match (acc, rhs) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
        }
        Some(acc)
    }

    fn atom(&mut self) -> Option<Option<bool>> {
        if self.toks.get(self.pos) == Some(&Tok::Open) {
            if self.depth == MAX_MARKER_DEPTH {
                return None;
            }
            self.pos += 1;
            self.depth += 1;
            let v = self.or()?;
            self.depth -= 1;
            if self.toks.get(self.pos) != Some(&Tok::Close) {
                return None;
            }
            self.pos += 1;
            return Some(v);
        }
        let lhs = self.toks.get(self.pos)?.clone();
        let Tok::Op(op) = self.toks.get(self.pos + 1)?.clone() else {
            return None;
        };
        let rhs = self.toks.get(self.pos + 2)?.clone();
        self.pos += 3;
        let side = |t: &Tok| -> Option<Option<String>> {
            match t {
                Tok::Str(s) => Some(Some(s.clone())),
                Tok::Ident(name) => Some(value_of(name).map(str::to_string)),
                _ => None,
            }
        };
        let (Some(l), Some(r)) = (side(&lhs)?, side(&rhs)?) else {
            return Some(None);
        };
        Some(match op.as_str() {
            "==" | "===" => Some(l == r),
            "!=" => Some(l != r),
            "in" => Some(r.contains(&l)),
            "not in" => Some(!r.contains(&l)),
            _ => None,
        })
    }
}

/// Whether a marker holds on a Linux image: `Some(true)`, `Some(false)`, or `None` when it
/// depends on something not known before the build (or does not parse).
pub fn evaluate_on_linux(marker: &str) -> Option<bool> {
    let toks = lex(marker)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let v = p.or()?;
    if p.pos != p.toks.len() {
        return None;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::evaluate_on_linux as eval;

    #[test]
    fn platform_markers_are_evaluated_for_linux() {
        assert_eq!(eval("sys_platform == \"darwin\""), Some(false));
        assert_eq!(eval("sys_platform == 'linux'"), Some(true));
        assert_eq!(eval("platform_system != \"Windows\""), Some(true));
        assert_eq!(
            eval("sys_platform == \"darwin\" and python_version >= \"3.8\""),
            Some(false)
        );
        assert_eq!(
            eval("sys_platform == \"linux\" and python_version >= \"3.8\""),
            None
        );
        assert_eq!(
            eval("(os_name == \"nt\") or sys_platform == \"linux\""),
            Some(true)
        );
        assert_eq!(eval("sys_platform not in \"win32 cygwin\""), Some(true));
        assert_eq!(eval("python_version < \"3.11\""), None);
        assert_eq!(eval("sys_platform =="), None);
    }

    #[test]
    fn deep_parentheses_are_unknown_not_a_stack_overflow() {
        let deep = |n: usize| format!("{}sys_platform == \"darwin\"{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(eval(&deep(super::MAX_MARKER_DEPTH)), Some(false));
        assert_eq!(eval(&deep(super::MAX_MARKER_DEPTH + 1)), None);
        assert_eq!(eval(&deep(100_000)), None);
    }
}
