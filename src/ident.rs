//! Names held once: every resource name, reference, zone, type and image the program
//! handles is interned, so that the model, the state, the diff, the steps and the
//! safety check share one copy of each instead of a `String` apiece.
//!
//! An [`Ident`] is a `Copy` handle of 8 bytes (an `Option<Ident>` too) with no
//! allocation of its own. It compares, orders and hashes by its text, exactly as the
//! `str` it stands for, so maps keyed by it keep the order they had with `String` keys
//! (and look up by `&str`); equal texts are one handle, so equality first compares
//! pointers.
//!
//! The texts live in arenas of 64 KiB that are never freed, each after its length: a
//! process handles one network, whose names it needs to the end, and a name seen twice
//! costs nothing more.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ptr::NonNull;
use std::sync::{Mutex, PoisonError};

/// An interned name.
#[derive(Clone, Copy)]
pub struct Ident(NonNull<u8>);

// SAFETY: an `Ident` points at bytes that are written once, before the handle exists,
// and never changed or freed afterwards: sharing them between threads is sharing
// immutable data.
unsafe impl Send for Ident {}
// SAFETY: as above.
unsafe impl Sync for Ident {}

/// Bytes carved from one arena; longer texts get an allocation of their own.
const ARENA_BYTES: usize = 64 << 10;

/// The length that goes before every text: four bytes, little-endian.
const HEADER: usize = 4;

/// Values kept once each, for good: the set of those made so far, and the arena their
/// parts are carved from.
struct Pool<K: 'static, T: 'static> {
    held: HashSet<K>,
    arena: Arena<T>,
}

impl<K: Copy + Hash + Eq, T: Copy> Pool<K, T> {
    /// The value kept for `key` in `pool`, made by `keep` (from the arena) the first
    /// time.
    fn get_or_keep<Q: Hash + Eq + ?Sized>(
        pool: &Mutex<Option<Pool<K, T>>>,
        key: &Q,
        keep: impl FnOnce(&mut Arena<T>) -> K,
    ) -> K
    where
        K: Borrow<Q>,
    {
        let mut guard = pool.lock().unwrap_or_else(PoisonError::into_inner);
        let pool = guard.get_or_insert_with(|| Pool {
            held: HashSet::new(),
            arena: Arena { free: &mut [] },
        });
        if let Some(held) = pool.held.get(key) {
            return *held;
        }
        let kept = keep(&mut pool.arena);
        pool.held.insert(kept);
        kept
    }
}

/// The texts of every `Ident`, after their lengths.
static TEXTS: Mutex<Option<Pool<Ident, u8>>> = Mutex::new(None);

/// The empty text: its length alone.
static EMPTY: [u8; HEADER] = [0; HEADER];

/// What is left of the current arena of `T`s, whose slots are handed out for good.
struct Arena<T: 'static> {
    free: &'static mut [T],
}

impl<T: Copy> Arena<T> {
    /// `len` slots, for good: from the current arena, else from a new one of `chunk`
    /// slots filled with `fill`; more than an eighth of an arena gets its own.
    fn carve(&mut self, len: usize, chunk: usize, fill: T) -> &'static mut [T] {
        if len > chunk / 8 {
            return Box::leak(vec![fill; len].into_boxed_slice());
        }
        if self.free.len() < len {
            self.free = Box::leak(vec![fill; chunk].into_boxed_slice());
        }
        let (head, tail) = std::mem::take(&mut self.free).split_at_mut(len);
        self.free = tail;
        head
    }
}

/// Writes `text` after its length into the arena, for good.
fn keep_text(bytes: &mut Arena<u8>, text: &str) -> Ident {
    // Cut on a character at 4 GiB, so that what is kept is still UTF-8.
    let text = &text[..text.floor_char_boundary(u32::MAX as usize)];
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    let place = bytes.carve(HEADER + text.len(), ARENA_BYTES, 0);
    place[..HEADER].copy_from_slice(&len.to_le_bytes());
    place[HEADER..].copy_from_slice(text.as_bytes());
    let place: &'static [u8] = place;
    Ident(NonNull::from(place).cast())
}

impl Ident {
    /// The one handle of `text`, made on first use. (A text is cut at 4 GiB; no name
    /// comes near.)
    pub fn new(text: &str) -> Ident {
        if text.is_empty() {
            return Ident::default();
        }
        Pool::get_or_keep(&TEXTS, text, |bytes| keep_text(bytes, text))
    }

    /// The text.
    pub fn as_str(&self) -> &'static str {
        let start = self.0.as_ptr();
        // SAFETY: `self.0` comes from `keep_text` or is `EMPTY`: it points at HEADER bytes of
        // little-endian length, then that many bytes copied from a `str`, all in one
        // allocation that is leaked (or static), so never freed nor written again.
        unsafe {
            let len = u32::from_le_bytes(std::ptr::read(start.cast::<[u8; HEADER]>()));
            let bytes = std::slice::from_raw_parts(start.add(HEADER), len as usize);
            std::str::from_utf8_unchecked(bytes)
        }
    }
}

impl Default for Ident {
    fn default() -> Ident {
        Ident(NonNull::from(&EMPTY).cast())
    }
}

impl std::ops::Deref for Ident {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Ident {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Ident {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Ident {
    fn eq(&self, other: &Ident) -> bool {
        self.0 == other.0 || self.as_str() == other.as_str()
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
        if self.0 == other.0 {
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

/// As the text's own hash, so that maps keyed by `Ident` are searched by `&str`.
impl Hash for Ident {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Ident {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Ident {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Ident {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Ident> for str {
    fn eq(&self, other: &Ident) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Ident> for &str {
    fn eq(&self, other: &Ident) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Ident> for String {
    fn eq(&self, other: &Ident) -> bool {
        self.as_str() == other.as_str()
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
        ident.as_str().to_string()
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Ident {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
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

/// A list of names, interned as a whole: the security groups of a NIC. Thousands of
/// NICs share a few lists, so a list is one shared slice with no allocation of its own
/// (16 bytes), compared, ordered and hashed as the slice of texts it holds.
#[derive(Clone, Copy, Default)]
pub struct IdentList(&'static [Ident]);

/// Every list made so far, carved from arenas of names.
static LISTS: Mutex<Option<Pool<IdentList, Ident>>> = Mutex::new(None);

/// Names carved from one arena of lists; longer lists get an allocation of their own.
const LIST_ARENA: usize = 4096;

impl IdentList {
    /// The one list of `names`, in their order, made on first use.
    pub fn new(names: &[Ident]) -> IdentList {
        if names.is_empty() {
            return IdentList::default();
        }
        Pool::get_or_keep(&LISTS, names, |arena| {
            let place = arena.carve(names.len(), LIST_ARENA, Ident::default());
            place.copy_from_slice(names);
            IdentList(place)
        })
    }

    /// The names.
    pub fn as_slice(&self) -> &'static [Ident] {
        self.0
    }
}

impl std::ops::Deref for IdentList {
    type Target = [Ident];

    fn deref(&self) -> &[Ident] {
        self.0
    }
}

impl Borrow<[Ident]> for IdentList {
    fn borrow(&self) -> &[Ident] {
        self.0
    }
}

impl IntoIterator for &IdentList {
    type Item = &'static Ident;
    type IntoIter = std::slice::Iter<'static, Ident>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl PartialEq for IdentList {
    fn eq(&self, other: &IdentList) -> bool {
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl Eq for IdentList {}

impl PartialOrd for IdentList {
    fn partial_cmp(&self, other: &IdentList) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdentList {
    fn cmp(&self, other: &IdentList) -> std::cmp::Ordering {
        self.0.cmp(other.0)
    }
}

/// As the slice's own hash, so that the set of lists is searched by a slice.
impl Hash for IdentList {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl From<Vec<Ident>> for IdentList {
    fn from(names: Vec<Ident>) -> IdentList {
        IdentList::new(&names)
    }
}

impl FromIterator<Ident> for IdentList {
    fn from_iter<I: IntoIterator<Item = Ident>>(names: I) -> IdentList {
        IdentList::new(&names.into_iter().collect::<Vec<_>>())
    }
}

impl fmt::Debug for IdentList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0).finish()
    }
}

impl serde::Serialize for IdentList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for IdentList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<IdentList, D::Error> {
        Ok(IdentList::new(&Vec::<Ident>::deserialize(deserializer)?))
    }
}

/// Described as the `Vec<String>` it stands for.
impl schemars::JsonSchema for IdentList {
    fn inline_schema() -> bool {
        <Vec<String> as schemars::JsonSchema>::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        <Vec<String> as schemars::JsonSchema>::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        <Vec<String> as schemars::JsonSchema>::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Vec<String> as schemars::JsonSchema>::json_schema(generator)
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
        assert_eq!(std::mem::size_of::<Option<Ident>>(), 8);
        assert_eq!(Ident::new(""), Ident::default());
        assert_eq!(Ident::default().as_str(), "");
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
    fn equal_lists_are_one_slice_and_compare_as_slices() {
        use super::IdentList;
        let names = |texts: &[&str]| texts.iter().map(|t| Ident::new(t)).collect::<Vec<_>>();
        let a = IdentList::new(&names(&["db", "web"]));
        let b: IdentList = names(&["db", "web"]).into_iter().collect();
        assert!(std::ptr::eq(a.as_slice(), b.as_slice()));
        assert_eq!(a, b);
        assert!(IdentList::new(&names(&["db"])) < a);
        assert!(IdentList::default().is_empty());
        let many: Vec<Ident> = (0..5000).map(|i| Ident::new(&format!("g{i}"))).collect();
        let long = IdentList::new(&many);
        assert_eq!(long.as_slice(), &many[..]);
        assert_eq!(
            serde_json::to_string(&a).ok().as_deref(),
            Some(r#"["db","web"]"#)
        );
        let back: IdentList = serde_json::from_str(r#"["db","web"]"#).expect("a list");
        assert_eq!(back, a);
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
