//! Names held once: every resource name, reference, zone, type and image the program
//! handles is interned, so that the model, the state, the diff, the steps and the
//! safety check share one copy of each instead of a `String` apiece.
//!
//! An [`Ident`] is a `Copy` handle of 16 bytes with no allocation of its own. It
//! compares, orders and hashes by its text, exactly as the `str` it stands for, so maps
//! keyed by it keep the order they had with `String` keys (and look up by `&str`);
//! equal texts are one handle, so equality first compares pointers.
//!
//! The texts live in arenas of 64 KiB that are never freed: a process handles one
//! network, whose names it needs to the end, and a name seen twice costs nothing more.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};

/// An interned name.
#[derive(Clone, Copy, Default)]
pub struct Ident(&'static str);

/// Bytes carved from one arena; longer texts get an allocation of their own.
const ARENA_BYTES: usize = 64 << 10;

struct Interner {
    held: HashSet<&'static str>,
    /// What is left of the current arena.
    free: &'static mut [u8],
}

static INTERNER: Mutex<Option<Interner>> = Mutex::new(None);

impl Interner {
    fn keep(&mut self, text: &str) -> &'static str {
        let len = text.len();
        if len > ARENA_BYTES / 8 {
            return Box::leak(Box::from(text));
        }
        if self.free.len() < len {
            self.free = Box::leak(vec![0u8; ARENA_BYTES].into_boxed_slice());
        }
        let (head, tail) = std::mem::take(&mut self.free).split_at_mut(len);
        self.free = tail;
        head.copy_from_slice(text.as_bytes());
        let head: &'static [u8] = head;
        // The bytes are a copy of a `str`, so they are UTF-8.
        std::str::from_utf8(head).unwrap_or_default()
    }
}

impl Ident {
    /// The one handle of `text`, made on first use.
    pub fn new(text: &str) -> Ident {
        let mut guard = INTERNER.lock().unwrap_or_else(PoisonError::into_inner);
        let interner = guard.get_or_insert_with(|| Interner {
            held: HashSet::new(),
            free: &mut [],
        });
        if let Some(held) = interner.held.get(text) {
            return Ident(held);
        }
        let kept = interner.keep(text);
        interner.held.insert(kept);
        Ident(kept)
    }

    /// The text.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl std::ops::Deref for Ident {
    type Target = str;

    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Ident {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl Borrow<str> for Ident {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl PartialEq for Ident {
    fn eq(&self, other: &Ident) -> bool {
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl Eq for Ident {}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Ident) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ident {
    fn cmp(&self, other: &Ident) -> std::cmp::Ordering {
        if std::ptr::eq(self.0, other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(other.0)
        }
    }
}

/// As the text's own hash, so that maps keyed by `Ident` are searched by `&str`.
impl Hash for Ident {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq<str> for Ident {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Ident {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Ident {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_str()
    }
}

impl PartialEq<Ident> for str {
    fn eq(&self, other: &Ident) -> bool {
        self == other.0
    }
}

impl PartialEq<Ident> for &str {
    fn eq(&self, other: &Ident) -> bool {
        *self == other.0
    }
}

impl PartialEq<Ident> for String {
    fn eq(&self, other: &Ident) -> bool {
        self.as_str() == other.0
    }
}

impl From<&str> for Ident {
    fn from(text: &str) -> Ident {
        Ident::new(text)
    }
}

impl From<String> for Ident {
    fn from(text: String) -> Ident {
        Ident::new(&text)
    }
}

impl From<&String> for Ident {
    fn from(text: &String) -> Ident {
        Ident::new(text)
    }
}

impl From<&Ident> for Ident {
    fn from(ident: &Ident) -> Ident {
        *ident
    }
}

impl From<Ident> for String {
    fn from(ident: Ident) -> String {
        ident.0.to_string()
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl serde::Serialize for Ident {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Ident {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Ident, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Ident;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Ident, E> {
                Ok(Ident::new(text))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// Described as the `String` it stands for.
impl schemars::JsonSchema for Ident {
    fn inline_schema() -> bool {
        <String as schemars::JsonSchema>::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        <String as schemars::JsonSchema>::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        <String as schemars::JsonSchema>::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <String as schemars::JsonSchema>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::Ident;

    #[test]
    fn equal_texts_are_one_handle_and_order_as_text() {
        let a = Ident::new("web-1");
        let b = Ident::new(&String::from("web-1"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_eq!(a, "web-1");
        let mut names: Vec<Ident> = ["b", "a10", "a2", ""].map(Ident::new).into();
        names.sort();
        assert_eq!(names, ["", "a10", "a2", "b"].map(Ident::new));
        let map: std::collections::BTreeMap<Ident, u8> = [(a, 1)].into();
        assert_eq!(map.get("web-1"), Some(&1));
        let hashed: std::collections::HashSet<Ident> = [a].into();
        assert!(hashed.contains("web-1"));
    }

    #[test]
    fn long_and_many_texts_survive_new_arenas() {
        let long = "x".repeat(super::ARENA_BYTES);
        assert_eq!(Ident::new(&long).as_str(), long);
        let many: Vec<(String, Ident)> = (0..20_000)
            .map(|i| {
                let text = format!("nic-{i}-é");
                let ident = Ident::new(&text);
                (text, ident)
            })
            .collect();
        for (text, ident) in &many {
            assert_eq!(ident.as_str(), text);
            assert_eq!(*ident, Ident::new(text));
        }
        assert_eq!(
            serde_json::to_string(&many[3].1).ok().as_deref(),
            Some("\"nic-3-é\"")
        );
        let back: Ident = serde_json::from_str("\"nic-3-é\"").expect("a string");
        assert_eq!(back, many[3].1);
    }
}
