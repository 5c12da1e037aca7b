//! "Did you mean ...?" for misspelt names.

/// The edit distance between two strings: the fewest single-character insertions,
/// deletions and substitutions that turn `a` into `b` (counted in characters).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // One row of the dynamic-programming table at a time: `row[j]` is the distance between
    // the prefix of `a` seen so far and the first `j` characters of `b`.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            let delete = row[j + 1] + 1;
            let insert = row[j] + 1;
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(delete).min(insert);
        }
    }
    row[b.len()]
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
        assert_eq!(levenshtein("python_version", "pyhton_version"), 2);
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
