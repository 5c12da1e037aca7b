//! "Did you mean ...?" for misspelt names.

/// The edit distance between two strings: the fewest single-character insertions,
/// deletions, substitutions and swaps of neighbouring characters that turn `a` into `b`
/// (the "optimal string alignment" distance, counted in characters). A swap counts as one
/// edit because swapped letters are the commonest typo (`vnev` for `venv`).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the dynamic-programming table: `cur[j]` is the distance between the
    // first `i` characters of `a` and the first `j` of `b`.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if one is close enough to be a likely typo.
///
/// A candidate equal to `name` ignoring ASCII case wins outright. Otherwise the one with the
/// smallest edit distance wins (earliest in `candidates` on a tie), if that distance is at
/// most a third of the longer name's length (at least 1) and smaller than `name` itself,
/// so short names do not "match" unrelated short names.
pub fn suggest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        if candidate.eq_ignore_ascii_case(name) {
            return Some(candidate);
        }
        let distance = levenshtein(name, candidate);
        let longest = name.chars().count().max(candidate.chars().count());
        let limit = (longest / 3).max(1);
        if distance <= limit
            && distance < name.chars().count()
            && best.is_none_or(|(d, _)| distance < d)
        {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_distances() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
        assert_eq!(levenshtein("python_version", "pyhton_version"), 1); // a swap is one edit
        assert_eq!(levenshtein("vnev", "venv"), 1);
        assert_eq!(levenshtein("ca", "abc"), 3);
        assert_eq!(levenshtein("héllo", "hello"), 1); // characters, not bytes
        assert_eq!(levenshtein("same", "same"), 0);
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = [
            "gpu",
            "python_version",
            "python_requirements",
            "python_packages",
            "run",
        ];
        assert_eq!(suggest("pyhton_version", keys), Some("python_version"));
        assert_eq!(
            suggest("python_requirement", keys),
            Some("python_requirements")
        );
        assert_eq!(suggest("GPU", keys), Some("gpu"));
        assert_eq!(suggest("gpus", keys), Some("gpu"));
        assert_eq!(suggest("cuda", keys), None);
        assert_eq!(suggest("x", keys), None);
        assert_eq!(suggest("torch", ["uv", "apt"]), None);
        // An exact match is not a suggestion.
        assert_eq!(suggest("run", keys), None);
    }

    #[test]
    fn ties_go_to_the_first_candidate() {
        assert_eq!(suggest("cat", ["bat", "hat"]), Some("bat"));
        assert_eq!(suggest("cat", ["hat", "bat"]), Some("hat"));
    }
}
