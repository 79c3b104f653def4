//! The compiled-in instance catalogue against the limit table it was transcribed from,
//! entry by entry.

use nicplan::catalogue::{CATALOGUE, lookup};

fn table(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn catalogue_matches_the_limit_table_entry_by_entry() {
    let rows = table(include_str!("../data/nic-limits.tsv"));
    assert_eq!(rows.len(), 55);
    assert_eq!(CATALOGUE.len(), rows.len());
    for (row, entry) in rows.iter().zip(CATALOGUE) {
        let [group, family, size, max] = row.as_slice() else {
            panic!("malformed row {row:?}");
        };
        assert_eq!(entry.group.as_str(), group);
        assert_eq!(entry.family, family);
        assert_eq!(entry.size, size);
        assert_eq!(
            entry.max_network_interfaces.to_string(),
            *max,
            "{family}.{size}"
        );
        assert_eq!(entry.is_bare_metal(), size == "baremetal");
        let found = lookup(&format!("{family}.{size}")).expect("every row is found");
        assert_eq!(found, entry);
    }
}

#[test]
fn bare_metal_types_are_the_three_of_the_platform() {
    let names: Vec<String> = CATALOGUE
        .iter()
        .filter(|t| t.is_bare_metal())
        .map(|t| t.name())
        .collect();
    assert_eq!(names, ["r2a.baremetal", "p1i.baremetal", "p2a.baremetal"]);
}

/// The project keeps its own copy of the platform's table; when the original is beside
/// the checkout, the copy must not have drifted from it.
#[test]
fn project_copy_of_the_table_is_current() {
    let original = std::path::Path::new("../shared/domain/nic-limits.tsv");
    let Ok(text) = std::fs::read_to_string(original) else {
        return;
    };
    assert_eq!(table(&text), table(include_str!("../data/nic-limits.tsv")));
}
