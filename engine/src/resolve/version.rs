//! Versions and version specifiers, as pip and Cog understand them.
//!
//! Two comparison rules live here, and the resolver uses each where it belongs:
//!
//! * **PEP 440** ([`Version`]'s `Ord`, [`SpecifierSet::contains`]) for package versions written
//!   in requirements files: `2.0.1+cu118` is a local version of `2.0.1`, `==2.0.1` accepts it,
//!   `==2.0` means `2.0.0` and does not accept `2.0.1`, `>2.0.1` does not accept `2.0.1+cu118`.
//! * **Cog's rule** ([`Version::cog_matches`], [`SpecifierSet::contains_cog`]) for the versions
//!   in `cog.yaml` (`python_version`, `cuda`, `cudnn`) and for cross-references between compat
//!   tables: compare major and minor, and the patch only when both sides give one, so `3.11`
//!   matches `3.11.4` and `11.8` matches `11.8.0`, but `3.11.2` does not match `3.11.4`.

use std::cmp::Ordering;
use std::fmt;

/// A parse failure for a version or specifier, with the text that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version{}: `{text}`: {why}", if *.specifier { " specifier" } else { "" })]
pub struct VersionError {
    /// The text that did not parse.
    pub text: String,
    /// Why it did not parse.
    pub why: String,
    /// True when a specifier (`>=1.0,<2`) rather than a bare version failed.
    pub specifier: bool,
}

impl VersionError {
    fn version(text: &str, why: impl Into<String>) -> Self {
        Self {
            text: text.to_string(),
            why: why.into(),
            specifier: false,
        }
    }
    fn specifier(text: &str, why: impl Into<String>) -> Self {
        Self {
            text: text.to_string(),
            why: why.into(),
            specifier: true,
        }
    }
}

/// The kind of a pre-release: `a`, `b` or `rc` (with PEP 440's spellings normalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreKind {
    /// Alpha (`a`, `alpha`).
    Alpha,
    /// Beta (`b`, `beta`).
    Beta,
    /// Release candidate (`rc`, `c`, `pre`, `preview`).
    Rc,
}

/// One dot-separated part of a local label (`cu118` or `1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LocalPart {
    /// A numeric part; sorts after every alphanumeric part.
    Num(u64),
    /// An alphanumeric part, lower-cased.
    Str(String),
}

impl Ord for LocalPart {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (LocalPart::Num(a), LocalPart::Num(b)) => a.cmp(b),
            (LocalPart::Str(a), LocalPart::Str(b)) => a.cmp(b),
            (LocalPart::Num(_), LocalPart::Str(_)) => Ordering::Greater,
            (LocalPart::Str(_), LocalPart::Num(_)) => Ordering::Less,
        }
    }
}

impl PartialOrd for LocalPart {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A PEP 440 version: `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`.
///
/// Equality and ordering follow PEP 440 (`2.0 == 2.0.0`, `2.0.1 < 2.0.1+cu118`); the text as
/// written is kept for display.
#[derive(Debug, Clone)]
pub struct Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(PreKind, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<LocalPart>,
    text: String,
}

impl Version {
    /// Parses a version, accepting PEP 440's alternative spellings (`v1.0`, `1.0-rc.1`,
    /// `1.0-1` for a post-release, upper case).
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(VersionError::version(text, "empty"));
        }
        let lower = trimmed.to_ascii_lowercase();
        let (public, local) = match lower.split_once('+') {
            Some((p, l)) => (p, Some(l)),
            None => (lower.as_str(), None),
        };
        let mut s = public.strip_prefix('v').unwrap_or(public);
        let mut epoch = 0;
        if let Some((e, rest)) = s.split_once('!') {
            epoch = e
                .parse()
                .map_err(|_| VersionError::version(text, "bad epoch"))?;
            s = rest;
        }
        let mut chars = Cursor { s, pos: 0 };
        let mut release = Vec::new();
        loop {
            let Some(n) = chars.number() else {
                return Err(VersionError::version(text, "expected a number"));
            };
            release.push(n);
            if chars.peek() == Some('.') && chars.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
                chars.pos += 1;
                continue;
            }
            break;
        }
        let mut pre = None;
        let mut post = None;
        let mut dev = None;
        // Pre-release.
        let save = chars.pos;
        chars.separator();
        if let Some(kind) = chars.word(&[
            ("alpha", PreKind::Alpha),
            ("a", PreKind::Alpha),
            ("beta", PreKind::Beta),
            ("b", PreKind::Beta),
            ("preview", PreKind::Rc),
            ("pre", PreKind::Rc),
            ("rc", PreKind::Rc),
            ("c", PreKind::Rc),
        ]) {
            let before = chars.pos;
            chars.separator();
            let n = match chars.number() {
                Some(n) => n,
                None => {
                    chars.pos = before;
                    0
                }
            };
            pre = Some((kind, n));
        } else {
            chars.pos = save;
        }
        // Post-release, including the implicit `-N` form.
        let save = chars.pos;
        if chars.peek() == Some('-') && chars.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            chars.pos += 1;
            post = chars.number();
        } else {
            chars.separator();
            if chars
                .word(&[("post", ()), ("rev", ()), ("r", ())])
                .is_some()
            {
                let before = chars.pos;
                chars.separator();
                post = Some(match chars.number() {
                    Some(n) => n,
                    None => {
                        chars.pos = before;
                        0
                    }
                });
            } else {
                chars.pos = save;
            }
        }
        // Development release.
        let save = chars.pos;
        chars.separator();
        if chars.word(&[("dev", ())]).is_some() {
            let before = chars.pos;
            chars.separator();
            dev = Some(match chars.number() {
                Some(n) => n,
                None => {
                    chars.pos = before;
                    0
                }
            });
        } else {
            chars.pos = save;
        }
        if chars.pos != chars.s.len() {
            return Err(VersionError::version(
                text,
                format!("unexpected `{}`", &chars.s[chars.pos..]),
            ));
        }
        let mut local_parts = Vec::new();
        if let Some(l) = local {
            if l.is_empty() {
                return Err(VersionError::version(text, "empty local label after `+`"));
            }
            for part in l.split(['.', '-', '_']) {
                if part.is_empty() || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(VersionError::version(text, "bad local label"));
                }
                local_parts.push(match part.parse::<u64>() {
                    Ok(n) if part.chars().all(|c| c.is_ascii_digit()) => LocalPart::Num(n),
                    _ => LocalPart::Str(part.to_string()),
                });
            }
        }
        Ok(Self {
            epoch,
            release,
            pre,
            post,
            dev,
            local: local_parts,
            text: trimmed.to_string(),
        })
    }

    /// The release numbers (`[2, 0, 1]` for `2.0.1+cu118`).
    pub fn release(&self) -> &[u64] {
        &self.release
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.release[0]
    }

    /// The minor number, 0 when not written.
    pub fn minor(&self) -> u64 {
        self.release.get(1).copied().unwrap_or(0)
    }

    /// The patch number, when written.
    pub fn patch(&self) -> Option<u64> {
        self.release.get(2).copied()
    }

    /// The local label as written after `+`, lower-cased (`cu118`), if any.
    pub fn local(&self) -> Option<String> {
        if self.local.is_empty() {
            return None;
        }
        Some(
            self.local
                .iter()
                .map(|p| match p {
                    LocalPart::Num(n) => n.to_string(),
                    LocalPart::Str(s) => s.clone(),
                })
                .collect::<Vec<_>>()
                .join("."),
        )
    }

    /// True for alpha, beta, rc and dev releases.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// This version without its local label (`2.0.1+cu118` -> `2.0.1`).
    pub fn without_local(&self) -> Version {
        let mut v = self.clone();
        v.local.clear();
        if let Some((public, _)) = v.text.split_once('+') {
            v.text = public.to_string();
        }
        v
    }

    /// `major.minor` (`11.8` for `11.8.0`).
    pub fn major_minor(&self) -> String {
        format!("{}.{}", self.major(), self.minor())
    }

    /// Cog's comparison: major and minor must be equal, the patch only when both versions
    /// give one. Local labels, pre- and post-release parts are ignored.
    pub fn cog_matches(&self, other: &Version) -> bool {
        if self.major() != other.major() || self.minor() != other.minor() {
            return false;
        }
        match (self.patch(), other.patch()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }

    /// Compares release numbers only, truncated to the shorter of the two (`3.11` vs `3.11.4`
    /// is `Equal`); used for ordered comparisons under Cog's rule.
    pub fn cog_cmp(&self, other: &Version) -> Ordering {
        let n = self.release.len().min(other.release.len()).max(2);
        for i in 0..n {
            let a = self.release.get(i).copied().unwrap_or(0);
            let b = other.release.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }

    fn cmp_public(&self, other: &Version) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| cmp_release(&self.release, &other.release))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| {
                self.post
                    .map_or(-1, |p| p as i128)
                    .cmp(&other.post.map_or(-1, |p| p as i128))
            })
            .then_with(|| {
                self.dev
                    .map_or(i128::MAX, |d| d as i128)
                    .cmp(&other.dev.map_or(i128::MAX, |d| d as i128))
            })
    }

    /// Sort key for the pre-release part: a dev release of the final version sorts before its
    /// pre-releases, which sort before the final release.
    fn pre_key(&self) -> (i8, u64) {
        match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, 0),
            (Some((kind, n)), _, _) => (kind as i8, n),
            _ => (i8::MAX, 0),
        }
    }
}

fn cmp_release(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    Ordering::Equal
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_public(other)
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.s[self.pos..].chars().nth(n)
    }
    fn number(&mut self) -> Option<u64> {
        let rest = &self.s[self.pos..];
        let len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let n = rest[..len].parse().ok()?;
        self.pos += len;
        Some(n)
    }
    fn separator(&mut self) {
        if matches!(self.peek(), Some('.' | '-' | '_')) {
            self.pos += 1;
        }
    }
    fn word<T: Copy>(&mut self, words: &[(&str, T)]) -> Option<T> {
        let rest = &self.s[self.pos..];
        for (w, v) in words {
            if rest.starts_with(w) {
                self.pos += w.len();
                return Some(*v);
            }
        }
        None
    }
}

/// A comparison operator in a specifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==` (with `.*`: prefix match).
    Eq,
    /// `!=` (with `.*`: prefix mismatch).
    Ne,
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `>`.
    Gt,
    /// `~=`, the compatible release.
    Compatible,
    /// `===`, string equality.
    Arbitrary,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Compatible => "~=",
            Op::Arbitrary => "===",
        }
    }
}

/// One clause of a specifier set: `>=2.0`, `==2.0.*`, `==2.0.1+cu118`.
#[derive(Debug, Clone)]
pub struct Specifier {
    /// The operator.
    pub op: Op,
    /// The version (for `===`, parsed when possible; the raw text is in `raw`).
    pub version: Version,
    /// True for `==X.*` / `!=X.*`.
    pub wildcard: bool,
    raw: String,
}

impl Specifier {
    /// PEP 440 matching.
    pub fn contains(&self, candidate: &Version) -> bool {
        let spec = &self.version;
        let public = candidate.without_local();
        match self.op {
            Op::Arbitrary => candidate.text.eq_ignore_ascii_case(&self.raw),
            Op::Eq | Op::Ne => {
                let eq = if self.wildcard {
                    prefix_matches(&spec.release, &public) && public.epoch == spec.epoch
                } else if spec.local.is_empty() {
                    public == *spec
                } else {
                    candidate == spec
                };
                (self.op == Op::Eq) == eq
            }
            Op::Ge => public >= *spec,
            Op::Le => public <= *spec,
            Op::Gt => {
                public > *spec
                    && !(spec.post.is_none()
                        && public.post.is_some()
                        && cmp_release(&public.release, &spec.release) == Ordering::Equal)
            }
            Op::Lt => {
                public < *spec
                    && !(!spec.is_prerelease()
                        && public.is_prerelease()
                        && cmp_release(&public.release, &spec.release) == Ordering::Equal)
            }
            Op::Compatible => {
                let n = spec.release.len().saturating_sub(1).max(1);
                public >= *spec && prefix_matches(&spec.release[..n], &public)
            }
        }
    }

    /// Cog's matching: `==`/`!=` use [`Version::cog_matches`] (plus the local label when the
    /// specifier gives one); ordered comparisons use [`Version::cog_cmp`].
    pub fn contains_cog(&self, candidate: &Version) -> bool {
        let spec = &self.version;
        match self.op {
            Op::Eq | Op::Ne | Op::Arbitrary => {
                let mut eq = if self.wildcard {
                    prefix_matches(&spec.release, candidate)
                } else {
                    spec.cog_matches(candidate)
                };
                if !spec.local.is_empty() && !self.wildcard {
                    eq = eq && spec.local == candidate.local;
                }
                (self.op != Op::Ne) == eq
            }
            Op::Ge => candidate.cog_cmp(spec) != Ordering::Less,
            Op::Le => candidate.cog_cmp(spec) != Ordering::Greater,
            Op::Gt => candidate.cog_cmp(spec) == Ordering::Greater,
            Op::Lt => candidate.cog_cmp(spec) == Ordering::Less,
            Op::Compatible => {
                let n = spec.release.len().saturating_sub(1).max(1);
                candidate.cog_cmp(spec) != Ordering::Less
                    && prefix_matches(&spec.release[..n], candidate)
            }
        }
    }
}

fn prefix_matches(prefix: &[u64], candidate: &Version) -> bool {
    prefix
        .iter()
        .enumerate()
        .all(|(i, n)| candidate.release.get(i).copied().unwrap_or(0) == *n)
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A comma-separated set of specifiers, all of which must hold (`>=2.0,<2.3`). The empty set
/// accepts every version.
#[derive(Debug, Clone, Default)]
pub struct SpecifierSet {
    specs: Vec<Specifier>,
}

impl SpecifierSet {
    /// Parses `>=2.0, <2.3`, `==2.0.*`, `~=3.11`. A bare version (`3.11`, `2.0.1+cu118`) means
    /// `==` that version, so the same parser reads cog.yaml values and requirement specifiers.
    /// An empty string or `*` is the empty set.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "*" {
            return Ok(Self::default());
        }
        let mut specs = Vec::new();
        for clause in trimmed.split(',') {
            let clause = clause.trim();
            if clause.is_empty() {
                return Err(VersionError::specifier(text, "empty clause"));
            }
            let (op, rest) = [
                ("===", Op::Arbitrary),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("~=", Op::Compatible),
                ("<", Op::Lt),
                (">", Op::Gt),
            ]
            .iter()
            .find_map(|(s, op)| clause.strip_prefix(s).map(|rest| (*op, rest.trim())))
            .unwrap_or((Op::Eq, clause));
            if rest.is_empty() {
                return Err(VersionError::specifier(
                    text,
                    format!("`{}` needs a version", op.as_str()),
                ));
            }
            let (body, wildcard) = match rest.strip_suffix(".*") {
                Some(b) => (b, true),
                None => (rest, false),
            };
            if wildcard && !matches!(op, Op::Eq | Op::Ne) {
                return Err(VersionError::specifier(
                    text,
                    "`.*` is only allowed with `==` and `!=`",
                ));
            }
            let version = match Version::parse(body) {
                Ok(v) => v,
                Err(e) => return Err(VersionError::specifier(text, e.why)),
            };
            if op == Op::Compatible && version.release.len() < 2 {
                return Err(VersionError::specifier(
                    text,
                    "`~=` needs at least two release numbers",
                ));
            }
            let raw = format!("{}{}", op.as_str(), rest);
            specs.push(Specifier {
                op,
                version,
                wildcard,
                raw,
            });
        }
        Ok(Self { specs })
    }

    /// True when no clause is given (any version).
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The clauses.
    pub fn specifiers(&self) -> &[Specifier] {
        &self.specs
    }

    /// PEP 440: true when every clause accepts the candidate.
    pub fn contains(&self, candidate: &Version) -> bool {
        self.specs.iter().all(|s| s.contains(candidate))
    }

    /// Cog's rule: true when every clause accepts the candidate under [`Specifier::contains_cog`].
    pub fn contains_cog(&self, candidate: &Version) -> bool {
        self.specs.iter().all(|s| s.contains_cog(candidate))
    }

    /// The version when the set is exactly one `==V` without a wildcard.
    pub fn exact(&self) -> Option<&Version> {
        match self.specs.as_slice() {
            [s] if s.op == Op::Eq && !s.wildcard => Some(&s.version),
            [s] if s.op == Op::Arbitrary => Some(&s.version),
            _ => None,
        }
    }

    /// The smallest version the set can accept, when a lower bound is given (`>=2.0` -> 2.0).
    pub fn lower_bound(&self) -> Option<&Version> {
        self.specs
            .iter()
            .filter(|s| {
                matches!(
                    s.op,
                    Op::Eq | Op::Ge | Op::Gt | Op::Compatible | Op::Arbitrary
                )
            })
            .map(|s| &s.version)
            .max()
    }

    /// False only when no version can satisfy both sets, as far as their bounds show: an
    /// exact pin the other set rejects, or a lower bound above the other's upper bound. When
    /// unsure (`!=` clauses, pre-releases between bounds) it answers true: the installer has
    /// the last word, this only lets a plan fail early.
    pub fn intersects(&self, other: &SpecifierSet) -> bool {
        if let Some(v) = self.exact() {
            return other.contains(v);
        }
        if let Some(v) = other.exact() {
            return self.contains(v);
        }
        // (version, inclusive) bounds over both sets.
        let mut low: Option<(&Version, bool)> = None;
        let mut high: Option<(Version, bool)> = None;
        for s in self.specs.iter().chain(other.specs.iter()) {
            let (lo, hi): (Option<(&Version, bool)>, Option<(Version, bool)>) = match s.op {
                Op::Ge => (Some((&s.version, true)), None),
                Op::Gt => (Some((&s.version, false)), None),
                Op::Le => (None, Some((s.version.clone(), true))),
                Op::Lt => (None, Some((s.version.clone(), false))),
                Op::Compatible => {
                    let n = s.version.release.len() - 1;
                    let mut next = s.version.release[..n].to_vec();
                    *next.last_mut().expect("~= has two release numbers") += 1;
                    let next = Version::parse(&next.iter().map(u64::to_string).collect::<Vec<_>>().join(".")).ok();
                    (Some((&s.version, true)), next.map(|v| (v, false)))
                }
                _ => (None, None),
            };
            if let Some((v, inc)) = lo {
                if low.is_none_or(|(l, li)| v > l || (v == l && li && !inc)) {
                    low = Some((v, inc));
                }
            }
            if let Some((v, inc)) = hi {
                if high.as_ref().is_none_or(|(h, hi)| v < *h || (v == *h && *hi && !inc)) {
                    high = Some((v, inc));
                }
            }
        }
        match (low, high) {
            (Some((l, li)), Some((h, hi))) => *l < h || (*l == h && li && hi),
            _ => true,
        }
    }

    /// The largest version the set can accept, when an upper bound is given.
    pub fn upper_bound(&self) -> Option<&Version> {
        self.specs
            .iter()
            .filter(|s| matches!(s.op, Op::Eq | Op::Le | Op::Lt | Op::Arbitrary) && !s.wildcard)
            .map(|s| &s.version)
            .min()
    }
}

impl fmt::Display for SpecifierSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.specs.iter().map(|s| s.raw.clone()).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn set(s: &str) -> SpecifierSet {
        SpecifierSet::parse(s).unwrap()
    }

    #[test]
    fn intersects_is_false_only_when_the_bounds_exclude_each_other() {
        assert!(!set("==2.20.0").intersects(&set(">=2.25.0")));
        assert!(!set(">=2.25.0").intersects(&set("==2.20.0")));
        assert!(set("==2.31.0").intersects(&set(">=2.25.0")));
        assert!(!set("<2.25").intersects(&set(">=2.25.0")));
        assert!(!set("<=2.0").intersects(&set(">2.0")));
        assert!(set("<=2.0").intersects(&set(">=2.0")));
        assert!(set("<3,>=2").intersects(&set(">=2.25.0")));
        assert!(!set("~=1.9").intersects(&set(">=2.0")));
        assert!(set("~=2.1").intersects(&set(">=2.0,<3")));
        assert!(set("!=2.25.0").intersects(&set(">=2.25.0")));
        assert!(set("").intersects(&set(">=2.25.0")));
    }

    #[test]
    fn parses_and_orders_pep440() {
        let ordered = [
            "1.0.dev1",
            "1.0a1",
            "1.0a2.dev3",
            "1.0a2",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+cpu",
            "1.0+cu118",
            "1.0.post1",
            "1.1",
            "2.0.1",
            "2.0.1+cu117",
            "2.0.1+cu118",
            "1!0.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("2.0"), v("2.0.0"));
        assert_eq!(v("V1.0-RC.1"), v("1.0rc1"));
        assert_eq!(v("1.0-1"), v("1.0.post1"));
        assert_eq!(v("2.0.1+cu118").local().as_deref(), Some("cu118"));
        assert!(Version::parse("2.x").is_err());
        assert!(Version::parse("").is_err());
        assert!(Version::parse("1.0+").is_err());
    }

    #[test]
    fn local_labels_follow_pep440() {
        assert!(set("==2.0.1").contains(&v("2.0.1+cu118")));
        assert!(set("==2.0.1+cu118").contains(&v("2.0.1+cu118")));
        assert!(!set("==2.0.1+cu117").contains(&v("2.0.1+cu118")));
        assert!(!set("==2.0.1+cu117").contains(&v("2.0.1")));
        assert!(!set(">2.0.1").contains(&v("2.0.1+cu118")));
        assert!(set(">=2.0.1").contains(&v("2.0.1+cu118")));
        assert!(!set("==2.0").contains(&v("2.0.1")));
        assert!(set("==2.0.*").contains(&v("2.0.1+cu118")));
        assert!(set("~=2.0").contains(&v("2.5")));
        assert!(!set("~=2.0.1").contains(&v("2.1.0")));
        assert!(set(">=2.0,<2.3").contains(&v("2.2.2")));
        assert!(!set(">=2.0,<2.3").contains(&v("2.3.0")));
        assert!(!set("<2.0").contains(&v("2.0rc1")));
        assert!(!set(">1.0").contains(&v("1.0.post1")));
        assert!(set("").contains(&v("9.9")));
    }

    #[test]
    fn cog_rule_compares_patch_only_when_both_give_one() {
        assert!(v("3.11").cog_matches(&v("3.11.4")));
        assert!(v("11.8").cog_matches(&v("11.8.0")));
        assert!(!v("3.11.2").cog_matches(&v("3.11.4")));
        assert!(!v("3.1").cog_matches(&v("3.11")));
        assert!(set("3.11").contains_cog(&v("3.11.4")));
        assert!(set(">=3.11.4").contains_cog(&v("3.11")));
        assert!(set("<3.12").contains_cog(&v("3.11")));
        assert!(!set("<3.12").contains_cog(&v("3.12")));
        assert!(set("==2.0.1+cu117").contains_cog(&v("2.0.1+cu117")));
        assert!(!set("==2.0.1+cu117").contains_cog(&v("2.0.1+cu118")));
    }

    #[test]
    fn specifier_errors_say_why() {
        let e = SpecifierSet::parse(">=").unwrap_err();
        assert!(e.to_string().contains("needs a version"), "{e}");
        assert!(SpecifierSet::parse(">=2.0.*").is_err());
        assert!(SpecifierSet::parse("~=2").is_err());
        assert!(SpecifierSet::parse("==2.0,").is_err());
        assert_eq!(set("2.0.1").exact().unwrap().to_string(), "2.0.1");
        assert_eq!(set(">=2.0, <3").to_string(), ">=2.0,<3");
    }
}
