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

/// How many names [`Names`] compares with every wanted one before it uses its index.
const SMALL: usize = 256;

/// Declared names to suggest from, for many lookups: [`closest`] for a few names, and
/// beyond [`SMALL`] an index built on the first lookup, so that each suggestion costs
/// about the same however many names there are (a file with thousands of unknown
/// references among thousands of names stays linear).
///
/// With the index, the candidates are the names one edit away from the wanted one
/// after deleting at most one character from each (so one insertion, deletion,
/// substitution or transposition of neighbours), the names it begins and the names
/// that begin with it; each is then measured exactly and kept as [`closest`] keeps
/// it. Names further away (two unrelated edits) are not suggested from a large set.
pub struct Names<'a> {
    names: Vec<&'a str>,
    index: std::cell::OnceCell<Index<'a>>,
    /// Answers already given, by wanted name: a renamed subnet referred to by
    /// thousands of NICs costs one lookup.
    answers: std::cell::RefCell<std::collections::HashMap<String, Vec<&'a str>>>,
}

struct Index<'a> {
    /// The hash of each name with at most one character deleted, and the position of
    /// the name, sorted.
    deletions: Vec<(u64, u32)>,
    /// Positions in the order of their names, for the names beginning with a string.
    sorted: Vec<u32>,
    /// Position by name.
    position: std::collections::HashMap<&'a str, u32>,
}

/// The hashes of `name` and of `name` with one character deleted (each once).
fn deletions(name: &str) -> Vec<u64> {
    use std::hash::{Hash, Hasher};
    let hash = |s: &str| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.hash(&mut h);
        h.finish()
    };
    let mut out = vec![hash(name)];
    let mut buffer = String::with_capacity(name.len());
    for (i, c) in name.char_indices() {
        buffer.clear();
        buffer.push_str(&name[..i]);
        buffer.push_str(&name[i + c.len_utf8()..]);
        out.push(hash(&buffer));
    }
    out.sort_unstable();
    out.dedup();
    out
}

impl<'a> Names<'a> {
    /// The names, in their declaration order (which breaks ties).
    pub fn new(names: impl IntoIterator<Item = &'a str>) -> Names<'a> {
        Names {
            names: names.into_iter().collect(),
            index: std::cell::OnceCell::new(),
            answers: std::cell::RefCell::default(),
        }
    }

    fn index(&self) -> &Index<'a> {
        self.index.get_or_init(|| {
            let mut all = Vec::new();
            let mut position = std::collections::HashMap::with_capacity(self.names.len());
            for (i, name) in self.names.iter().enumerate() {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                all.extend(deletions(name).into_iter().map(|h| (h, i)));
                position.entry(*name).or_insert(i);
            }
            all.sort_unstable();
            let mut sorted: Vec<u32> = (0..self.names.len())
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            sorted.sort_by_key(|&i| self.names[i as usize]);
            Index {
                deletions: all,
                sorted,
                position,
            }
        })
    }

    /// Up to three names close enough to `wanted` to be what was meant, closest first,
    /// ties in declaration order.
    pub fn closest(&self, wanted: &str) -> Vec<&'a str> {
        if self.names.len() <= SMALL {
            return closest(wanted, self.names.iter().copied());
        }
        if let Some(known) = self.answers.borrow().get(wanted) {
            return known.clone();
        }
        let index = self.index();
        let mut candidates: Vec<u32> = Vec::new();
        for h in deletions(wanted) {
            let from = index.deletions.partition_point(|&(x, _)| x < h);
            candidates.extend(
                index.deletions[from..]
                    .iter()
                    .take_while(|&&(x, _)| x == h)
                    .map(|&(_, i)| i),
            );
        }
        // The names that begin with `wanted`, and those `wanted` begins with.
        let from = index
            .sorted
            .partition_point(|&i| self.names[i as usize] < wanted);
        candidates.extend(
            index.sorted[from..]
                .iter()
                .take_while(|&&i| self.names[i as usize].starts_with(wanted)),
        );
        candidates.extend(
            wanted
                .char_indices()
                .skip(1)
                .filter_map(|(at, _)| index.position.get(&wanted[..at]).copied()),
        );
        candidates.sort_unstable();
        candidates.dedup();
        let answer = closest(
            wanted,
            candidates.into_iter().map(|i| self.names[i as usize]),
        );
        self.answers
            .borrow_mut()
            .insert(wanted.to_string(), answer.clone());
        answer
    }
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
    fn a_large_set_suggests_what_a_small_one_would_for_one_edit_and_for_prefixes() {
        let many: Vec<String> = (0..2000).map(|i| format!("web-{i}")).collect();
        let names = Names::new(many.iter().map(String::as_str));
        for wanted in [
            "wbe-17",
            "web-17x",
            "web-1x7",
            "we-17",
            "eb-17",
            "web-1",
            "web-1234-eth0",
        ] {
            assert_eq!(
                names.closest(wanted),
                closest(wanted, many.iter().map(String::as_str)),
                "{wanted}"
            );
        }
        assert_eq!(names.closest("wbe-17"), ["web-17"]);
        // Asked again, the same answer.
        assert_eq!(names.closest("wbe-17"), ["web-17"]);
        assert!(names.closest("database").is_empty());
        // Declaration order breaks ties, as for a few names.
        assert_eq!(names.closest("web-1"), ["web-1", "web-0", "web-2"]);
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
