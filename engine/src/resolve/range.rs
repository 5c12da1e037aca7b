//! Version ranges as semver ecosystems write them, for dependencies resolved against the
//! versions base images ship ([`super::shipped`]): `>=18`, `^20.1`, `~18.17.0`, `18.x`,
//! `>=16 <21`, `>=16, <21`, `1.2.3 - 2.0`, `^18 || ^20`, `*`. PEP 440's `==`, `!=` and `~=`
//! read as they do in Python. Versions are `major.minor.patch`; a missing part is a wildcard
//! (`18` is `18.x.x`). Pre-release and build tags are not supported: a range that names one
//! is refused with a message, never silently read another way.

use std::fmt;

/// A release: `major.minor.patch`.
pub type Release = [u64; 3];

/// A parsed range: alternatives (`||`), each a conjunction of bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    alternatives: Vec<Vec<Bound>>,
    written: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Ge(Release),
    Gt(Release),
    Le(Release),
    Lt(Release),
    /// Outside `[lo, hi)`: `!=18` (every 18.x.x) or `!=18.2.0`.
    Outside(Release, Release),
}

impl Bound {
    fn holds(self, v: Release) -> bool {
        match self {
            Bound::Ge(b) => v >= b,
            Bound::Gt(b) => v > b,
            Bound::Le(b) => v <= b,
            Bound::Lt(b) => v < b,
            Bound::Outside(lo, hi) => v < lo || v >= hi,
        }
    }
}

/// A version as written: up to three numbers, then wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Partial(Vec<u64>);

impl Partial {
    fn low(&self) -> Release {
        let mut r = [0; 3];
        r[..self.0.len()].copy_from_slice(&self.0);
        r
    }

    /// The first release above every version this prefix covers: `18.2` -> `18.3.0`.
    /// `n` parts are kept (1 = bump the major).
    fn bump(&self, n: usize) -> Release {
        let mut r = [0; 3];
        r[..n].copy_from_slice(&self.0[..n]);
        r[n - 1] = r[n - 1].saturating_add(1);
        r
    }
}

impl Range {
    /// Parses a range; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Range, String> {
        let mut alternatives = Vec::new();
        for alt in text.split("||") {
            alternatives.push(conjunction(alt)?);
        }
        Ok(Range { alternatives, written: text.trim().to_string() })
    }

    /// Whether a release lies in the range.
    pub fn contains(&self, v: Release) -> bool {
        self.alternatives.iter().any(|all| all.iter().all(|b| b.holds(v)))
    }

    /// True for `*`, `x` or an empty range.
    pub fn is_any(&self) -> bool {
        self.alternatives.iter().any(Vec::is_empty)
    }

    /// Whether some release newer than `v` lies in the range (so a table whose newest row is
    /// `v` lacks data rather than the range excluding it).
    pub fn wants_newer_than(&self, v: Release) -> bool {
        self.alternatives.iter().any(|all| {
            // The newest release a conjunction allows is unbounded unless a bound caps it.
            let far = [v[0].saturating_add(1_000_000), 0, 0];
            let next = [v[0], v[1], v[2].saturating_add(1)];
            [next, [v[0], v[1].saturating_add(1), 0], [v[0].saturating_add(1), 0, 0], far]
                .iter()
                .any(|c| all.iter().all(|b| b.holds(*c)))
        })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// Parses `18.20.4` (or `v18.20.4`) as a release; parts left out are 0.
pub fn parse_release(text: &str) -> Result<Release, String> {
    let p = partial(text)?;
    if p.0.is_empty() {
        return Err(format!("`{text}` is not a version"));
    }
    Ok(p.low())
}

/// Shows a release as `18.20.4`.
pub fn show(v: Release) -> String {
    format!("{}.{}.{}", v[0], v[1], v[2])
}

fn partial(text: &str) -> Result<Partial, String> {
    let t = text.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    if t.contains(['-', '+']) {
        return Err(format!("`{text}`: pre-release and build tags are not supported"));
    }
    let mut parts = Vec::new();
    for (i, piece) in t.split('.').enumerate() {
        if i >= 3 {
            return Err(format!("`{text}` has more than three parts (major.minor.patch)"));
        }
        if matches!(piece, "x" | "X" | "*") {
            break;
        }
        if piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{text}` is not a version"));
        }
        parts.push(piece.parse::<u64>().map_err(|_| format!("`{text}`: number too large"))?);
    }
    Ok(Partial(parts))
}

/// Space- or comma-separated comparators, or a hyphen range `A - B`.
fn conjunction(text: &str) -> Result<Vec<Bound>, String> {
    let spaced = text.replace(',', " ");
    let raw: Vec<&str> = spaced.split_whitespace().collect();
    // An operator written apart from its version (`>= 18`) joins it.
    let mut tokens: Vec<String> = Vec::new();
    let mut pending: Option<&str> = None;
    for t in raw {
        let is_op = !t.is_empty() && t.chars().all(|c| "<>=!~^".contains(c));
        match pending.take() {
            Some(op) => tokens.push(format!("{op}{t}")),
            None if is_op => pending = Some(t),
            None => tokens.push(t.to_string()),
        }
    }
    if let Some(op) = pending {
        return Err(format!("`{op}` is not followed by a version"));
    }
    let mut bounds = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens.get(i + 1).map(String::as_str) == Some("-") {
            let Some(hi) = tokens.get(i + 2) else {
                return Err(format!("`{} -` needs a version after the hyphen", tokens[i]));
            };
            let (lo, hi) = (partial(&tokens[i])?, partial(hi)?);
            bounds.push(Bound::Ge(lo.low()));
            match hi.0.len() {
                0 => {}
                3 => bounds.push(Bound::Le(hi.low())),
                n => bounds.push(Bound::Lt(hi.bump(n))),
            }
            i += 3;
            continue;
        }
        comparator(&tokens[i], &mut bounds)?;
        i += 1;
    }
    Ok(bounds)
}

fn comparator(token: &str, out: &mut Vec<Bound>) -> Result<(), String> {
    let op_len = token.find(|c: char| !"<>=!~^".contains(c)).unwrap_or(token.len());
    let (op, rest) = token.split_at(op_len);
    let p = partial(rest)?;
    let n = p.0.len();
    let exact_or_prefix = |out: &mut Vec<Bound>| match n {
        0 => {}
        3 => {
            out.push(Bound::Ge(p.low()));
            out.push(Bound::Le(p.low()));
        }
        _ => {
            out.push(Bound::Ge(p.low()));
            out.push(Bound::Lt(p.bump(n)));
        }
    };
    match op {
        "" | "=" | "==" => exact_or_prefix(out),
        ">=" => out.push(Bound::Ge(p.low())),
        ">" => match n {
            0 => out.push(Bound::Lt([0; 3])),
            3 => out.push(Bound::Gt(p.low())),
            _ => out.push(Bound::Ge(p.bump(n))),
        },
        "<" => out.push(Bound::Lt(p.low())),
        "<=" => match n {
            0 => {}
            3 => out.push(Bound::Le(p.low())),
            _ => out.push(Bound::Lt(p.bump(n))),
        },
        "!=" => match n {
            0 => out.push(Bound::Lt([0; 3])),
            3 => out.push(Bound::Outside(p.low(), [p.0[0], p.0[1], p.0[2] + 1])),
            _ => out.push(Bound::Outside(p.low(), p.bump(n))),
        },
        "~" => {
            if n > 0 {
                out.push(Bound::Ge(p.low()));
                out.push(Bound::Lt(p.bump(n.min(2))));
            }
        }
        "~=" => {
            if n < 2 {
                return Err(format!("`{token}`: `~=` needs at least major.minor"));
            }
            out.push(Bound::Ge(p.low()));
            out.push(Bound::Lt(p.bump(n - 1)));
        }
        "^" => {
            if n > 0 {
                out.push(Bound::Ge(p.low()));
                // The first non-zero part given stays fixed; `^0.0` and `^0` fix what they give.
                let keep = p.0.iter().position(|&x| x != 0).map_or(n, |i| i + 1);
                out.push(Bound::Lt(p.bump(keep)));
            }
        }
        other => return Err(format!("`{other}` in `{token}` is not a comparison (use >=, >, <=, <, =, !=, ~, ~= or ^)")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(range: &str, v: &str) -> bool {
        Range::parse(range).unwrap().contains(parse_release(v).unwrap())
    }

    #[test]
    fn ranges_read_as_semver_ecosystems_write_them() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (">=18", &["18.0.0", "20.19.2", "22.1.0"], &["16.20.2", "17.9.9"]),
            ("^20.1", &["20.1.0", "20.19.2"], &["20.0.9", "21.0.0"]),
            ("^0.2.3", &["0.2.3", "0.2.9"], &["0.3.0"]),
            ("^0.0.3", &["0.0.3"], &["0.0.4"]),
            ("^0", &["0.9.9"], &["1.0.0"]),
            ("~18.17.0", &["18.17.5"], &["18.18.0"]),
            ("~18", &["18.99.0"], &["19.0.0"]),
            ("18.x", &["18.0.0", "18.20.4"], &["19.0.0", "17.0.0"]),
            ("18", &["18.20.4"], &["20.0.0"]),
            ("18.20.4", &["18.20.4"], &["18.20.5"]),
            (">=16 <21", &["18.20.4", "20.19.2"], &["21.0.0"]),
            (">= 16, < 21", &["20.19.2"], &["22.0.0"]),
            ("16 - 18", &["16.0.0", "18.99.0"], &["19.0.0"]),
            ("16.1.0 - 18.2.0", &["18.2.0"], &["18.2.1"]),
            ("^18 || ^22", &["18.20.4", "22.0.0"], &["20.19.2"]),
            (">18", &["19.0.0"], &["18.20.4"]),
            ("<=18", &["18.99.0"], &["19.0.0"]),
            ("!=18", &["20.19.2"], &["18.20.4"]),
            ("~=18.2", &["18.20.4"], &["19.0.0", "18.1.0"]),
            ("*", &["0.0.1", "99.0.0"], &[]),
            ("", &["20.19.2"], &[]),
            ("v20", &["20.19.2"], &["18.20.4"]),
        ];
        for (range, inside, outside) in cases {
            for v in *inside {
                assert!(yes(range, v), "{range} should contain {v}");
            }
            for v in *outside {
                assert!(!yes(range, v), "{range} should not contain {v}");
            }
        }
    }

    #[test]
    fn bad_ranges_say_why() {
        for (range, words) in [
            (">=18.0.0-rc.1", "pre-release"),
            ("banana", "not a version"),
            (">=", "not followed"),
            ("=>18", "not a comparison"),
            ("~=18", "major.minor"),
            ("1.2.3.4", "three parts"),
        ] {
            let err = Range::parse(range).unwrap_err();
            assert!(err.contains(words), "{range}: {err}");
        }
    }

    #[test]
    fn newer_releases_are_told_apart_from_excluded_ones() {
        let top = parse_release("20.19.2").unwrap();
        assert!(Range::parse(">=22").unwrap().wants_newer_than(top));
        assert!(Range::parse("^20.20").unwrap().wants_newer_than(top));
        assert!(!Range::parse("<16").unwrap().wants_newer_than(top));
        assert!(!Range::parse("19.x").unwrap().wants_newer_than(top));
    }
}
