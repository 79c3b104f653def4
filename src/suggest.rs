//! "Did you mean" for names: the declared names closest to a mistyped one.

/// Edit distance between two strings, counted in characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Up to three candidates close enough to `wanted` to be what was meant, closest first,
/// ties in the candidates' own order.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (wanted.chars().count() / 3).max(2);
    let mut found: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let d = distance(wanted, c);
            let prefix = c.starts_with(wanted) || wanted.starts_with(c);
            (d <= limit || prefix).then_some((d, i, c))
        })
        .collect();
    found.sort();
    found.into_iter().take(3).map(|(_, _, c)| c).collect()
}

/// "`a`", "`a` or `b`", "`a`, `b` or `c`".
pub fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("main", "main"), 0);
        assert_eq!(distance("mian", "main"), 2);
        assert_eq!(distance("app-a", "app-b"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn closest_orders_by_distance_then_declaration() {
        let names = ["app-b", "db-a", "app-a", "zzz"];
        assert_eq!(closest("app-c", names), ["app-b", "app-a"]);
        assert!(closest("completely-else", names).is_empty());
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
        assert_eq!(one_of(&["a"]), "`a`");
    }
}
