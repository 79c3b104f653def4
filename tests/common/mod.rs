//! What the tests share: the platform's fixtures and how their shapes compare, a
//! folder's contents, and running the binary (`nicplan`).

#![allow(dead_code)]

pub mod nicplan;

use serde_json::Value;

/// Every file and folder under `dir`, by path relative to it, with the bytes of each
/// file (`None` for a folder): what a command that must touch nothing leaves as it was.
pub fn tree(
    dir: &std::path::Path,
) -> std::collections::BTreeMap<std::path::PathBuf, Option<Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            let relative = path.strip_prefix(dir).expect("inside").to_path_buf();
            if entry.file_type().expect("type").is_dir() {
                todo.push(path);
                out.insert(relative, None);
            } else {
                out.insert(relative, Some(std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

/// The fixture `tests/fixtures/kakaocloud/{name}.json`.
pub fn fixture(name: &str) -> Value {
    let path = format!("tests/fixtures/kakaocloud/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The JSON type of a value.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// How strictly [`shape_differences`] takes a `null`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// A `null` on either side matches anything.
    Match,
    /// A `null` where the platform's fixture has a value is a difference, unless the
    /// path ends with one of these (fields the platform's model lets be `null`, and
    /// that are so in the state of the object at hand).
    OnlyAt(&'static [&'static str]),
}

/// Every difference between the shapes of `want` (the platform's) and `got`, by path:
/// fields one has and the other lacks, and values of different JSON types. Each item
/// of a list in `got` is compared with the fixture's item at the same place, or else
/// its first item of the same JSON type (a list may mix types, as a 422's `loc` does).
pub fn shape_differences(
    path: &str,
    want: &Value,
    got: &Value,
    nulls: Nulls,
    out: &mut Vec<String>,
) {
    match (want, got) {
        (Value::Null, _) => {}
        (_, Value::Null) => {
            if let Nulls::OnlyAt(allowed) = nulls
                && !allowed.iter().any(|end| path.ends_with(end))
            {
                out.push(format!(
                    "{path}: null where the platform has {}",
                    kind(want)
                ));
            }
        }
        (Value::Object(w), Value::Object(g)) => {
            for k in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing"));
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{path}.{k}: not in the platform's model"));
            }
            for (k, wv) in w {
                if let Some(gv) = g.get(k) {
                    shape_differences(&format!("{path}.{k}"), wv, gv, nulls, out);
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            for (i, gv) in g.iter().enumerate() {
                let same = w.get(i).filter(|wv| kind(wv) == kind(gv));
                match same.or_else(|| w.iter().find(|wv| kind(wv) == kind(gv))) {
                    Some(wv) => shape_differences(&format!("{path}[]"), wv, gv, nulls, out),
                    None if w.is_empty() || gv.is_null() => {}
                    None => out.push(format!(
                        "{path}[]: {} where the platform's items are {}",
                        kind(gv),
                        kind(&w[0])
                    )),
                }
            }
        }
        (w, g) if kind(w) != kind(g) => out.push(format!(
            "{path}: {} where the platform has {}",
            kind(g),
            kind(w)
        )),
        _ => {}
    }
}

/// The embedded simulator's world in the files at `path` (its snapshot with its journal
/// folded in, nothing finished), as JSON.
pub fn sim_world(path: &std::path::Path) -> Value {
    let world = ::nicplan::cloud::sim::Sim::stored(path).expect("the simulator's files");
    serde_json::to_value(&world).expect("json")
}

/// Replaces the embedded simulator's world at `path` with `world`, as an edit by hand
/// would: a new snapshot, and no journal.
pub fn write_sim_world(path: &std::path::Path, world: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(world).expect("json")).expect("write");
    match std::fs::remove_file(sim_journal(path)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("remove the journal: {e}"),
    }
}

/// The journal beside the simulator's snapshot at `path`.
pub fn sim_journal(path: &std::path::Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".journal");
    std::path::PathBuf::from(name)
}

/// The bytes of the simulator's snapshot and journal at `path` (`None` for a file that
/// is not there): what a command that must not change the cloud leaves as it was.
pub fn sim_bytes(path: &std::path::Path) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    (
        std::fs::read(path).ok(),
        std::fs::read(sim_journal(path)).ok(),
    )
}
