//! Every schema finding of a file in one run.
//!
//! The typed parse (serde) stops at the first value that does not fit. When it does,
//! the file is read again as a plain tree of spanned YAML nodes and walked against
//! the shape of the format below, which reports every unknown, missing, repeated or
//! mistyped field, and every malformed name, address, CIDR block and duration, across
//! the whole file. A file that fits is never walked: its values are checked by the
//! model, with the same messages.

use std::collections::HashSet;

use serde::Deserialize;
use serde::de::{MapAccess, SeqAccess, Visitor};

use super::load::{unknown_field_help, version_finding};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::build::{duration_at, name_finding, parse_cidr, parse_ip};
use crate::source::{At, Source, Span};

/// A YAML node as the parser typed it; a string keeps its value, other scalars are
/// read back from their span when needed.
#[derive(Debug)]
enum Node {
    Null,
    Bool,
    Int,
    Float,
    Str(String),
    Seq(Vec<At<Node>>),
    Map(Vec<(At<Node>, At<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Int)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Int)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Int)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Int)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Float)
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<At<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<At<Node>>()? {
            let value = map.next_value::<At<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// Whether the typed parse takes this scalar text as a `T`: it reads a scalar's text
/// whatever its quoting, so the text is handed to it again, quoted.
fn fits<T: serde::de::DeserializeOwned>(text: &str) -> bool {
    serde_json::to_string(text)
        .ok()
        .is_some_and(|quoted| serde_saphyr::from_str::<T>(&quoted).is_ok())
}

/// What a value of the format must be.
#[derive(Debug)]
pub(crate) enum Shape {
    /// Any scalar, read as text (descriptions, images, URLs, types).
    Text,
    /// A resource name given as a reference; whether it exists is a rule's business.
    Reference,
    /// The format version.
    Version,
    /// A whole number from 0 to 4294967295.
    U32,
    /// `true` or `false`.
    Bool,
    /// An IPv4 address.
    Ip,
    /// An IPv4 CIDR block, of the owner named by the context.
    Cidr,
    /// A duration of `settings.timeouts`.
    Duration,
    /// One of these words.
    Enum(&'static [&'static str]),
    /// A list of values of one shape.
    List(&'static Shape),
    /// A map of these fields.
    Block(&'static [Field]),
    /// A map of resources of one kind (named in messages), by name.
    Resources(&'static str, &'static Shape),
    /// The shape, or nothing.
    Nullable(&'static Shape),
}

/// A field of a block.
#[derive(Debug)]
pub(crate) struct Field {
    pub key: &'static str,
    pub shape: Shape,
    pub required: bool,
}

const fn req(key: &'static str, shape: Shape) -> Field {
    Field {
        key,
        shape,
        required: true,
    }
}

const fn opt(key: &'static str, shape: Shape) -> Field {
    Field {
        key,
        shape,
        required: false,
    }
}

use Shape::{
    Block, Bool, Cidr, Duration, Enum, Ip, List, Nullable, Reference, Resources, Text, U32, Version,
};

const QUOTAS: &[Field] = &[opt("vpcs", U32), opt("subnets", U32), opt("instances", U32)];
const TIMEOUTS: &[Field] = &[
    opt("vpc", Duration),
    opt("subnet", Duration),
    opt("security_group", Duration),
    opt("network_interface", Duration),
    opt("instance", Duration),
    opt("public_ip", Duration),
];
const ENDPOINTS: &[Field] = &[
    opt("iam", Text),
    opt("vpc", Text),
    opt("network", Text),
    opt("bcs", Text),
];
const BACKEND: &[Field] = &[
    req("kind", Enum(&["sim", "kakaocloud"])),
    opt("path", Text),
    opt("multiple_ips", Bool),
    opt("region", Text),
    opt("endpoints", Block(ENDPOINTS)),
];
const STATE: &[Field] = &[
    req("kind", Enum(&["local", "postgres"])),
    opt("path", Text),
    opt("url", Text),
    opt("name", Text),
];
const SETTINGS: &[Field] = &[
    opt("backend", Block(BACKEND)),
    opt("state", Block(STATE)),
    opt("quotas", Block(QUOTAS)),
    opt("timeouts", Block(TIMEOUTS)),
];
const VPC: &[Field] = &[req("cidr_block", Cidr)];
const SUBNET: &[Field] = &[
    req("vpc", Reference),
    req("cidr_block", Cidr),
    req("availability_zone", Text),
];
const SECURITY_GROUP: &[Field] = &[opt("description", Text)];
const LIFECYCLE: &[Field] = &[opt("prevent_destroy", Bool), opt("allow_stop", Bool)];
const INSTANCE: &[Field] = &[
    req("type", Text),
    req("image", Text),
    req("primary_interface", Reference),
    opt("root_volume_gb", U32),
    opt("bonding", Bool),
    opt("lifecycle", Block(LIFECYCLE)),
];
const NETWORK_INTERFACE: &[Field] = &[
    req("subnet", Reference),
    opt("description", Text),
    opt("private_ip", Ip),
    opt("secondary_private_ips", List(&Ip)),
    opt("security_groups", List(&Reference)),
    opt("source_dest_check", Bool),
    opt("attach_to", Reference),
];
const PUBLIC_IP: &[Field] = &[opt("network_interface", Reference), opt("private_ip", Ip)];

/// The whole file.
pub(crate) const FILE: &[Field] = &[
    req("version", Version),
    opt("settings", Block(SETTINGS)),
    opt("vpcs", Resources("VPC", &Block(VPC))),
    opt("subnets", Resources("subnet", &Block(SUBNET))),
    opt(
        "security_groups",
        Resources("security group", &Nullable(&Block(SECURITY_GROUP))),
    ),
    opt("instances", Resources("instance", &Block(INSTANCE))),
    opt(
        "network_interfaces",
        Resources("network interface", &Block(NETWORK_INTERFACE)),
    ),
    opt(
        "public_ips",
        Resources("public IP", &Nullable(&Block(PUBLIC_IP))),
    ),
];

/// The most nodes the second reading holds (a file of 10,000 instances has about
/// 300,000); a larger file that does not fit keeps the parser's one finding.
const MAX_NODES: usize = 4_000_000;

/// Every schema finding of a file the typed parse refused, in file order. When the
/// file cannot be read as YAML at all, the error of the plain reading, unless it is
/// only that the file is larger than this reading holds (`Err(None)`).
pub(crate) fn findings(
    source: &Source,
    mut options: serde_saphyr::Options,
) -> Result<Vec<Diagnostic>, Option<serde_saphyr::Error>> {
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    if let Some(budget) = options.budget.as_mut() {
        budget.max_nodes = budget.max_nodes.min(MAX_NODES);
    }
    let root: At<Node> =
        serde_saphyr::from_str_with_options(source.text(), options).map_err(|err| match err {
            serde_saphyr::Error::Budget { .. } => None,
            // An alias bomb is refused by the budget whatever it is wrapped in.
            err if err.to_string().contains("budget breached") => None,
            err => Some(err),
        })?;
    let mut walk = Walk {
        text: source.text(),
        out: Vec::new(),
    };
    let top = Context {
        what: "the file".to_string(),
        key: Span::new(0, 0),
        field: "",
    };
    walk.value(&root, &Block(FILE), &top);
    crate::diagnostic::sort(&mut walk.out);
    Ok(walk.out)
}

/// Where a value sits: what it belongs to (for messages), the span of the key that
/// holds it, and that key.
struct Context {
    what: String,
    key: Span,
    field: &'static str,
}

struct Walk<'a> {
    text: &'a str,
    out: Vec<Diagnostic>,
}

impl Walk<'_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.out.push(diagnostic);
    }

    /// A span that shows: a node whose span is empty is pointed at by one character.
    fn visible(&self, span: Span) -> Span {
        if !span.is_empty() || self.text.is_empty() {
            return span;
        }
        let offset = span.offset().min(self.text.len().saturating_sub(1));
        Span::new(offset, 1)
    }

    /// A value of the wrong type; `at` names the field when the value is one.
    fn mistyped(&mut self, node: &At<Node>, expected: &str, at: Option<&Context>) {
        let found = match &node.value {
            Node::Null => "nothing (null)",
            Node::Bool => "true or false",
            Node::Int | Node::Float => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a map",
        };
        let message = match at {
            Some(at) if !at.field.is_empty() => format!(
                "expected {expected} for `{}` of {}, found {found}",
                at.field, at.what
            ),
            _ => format!("expected {expected}, found {found}"),
        };
        let label = self.visible(node.span);
        let mut d = Diagnostic::new(Code::Schema, message).label(label, format!("{found} here"));
        if matches!(node.value, Node::Null) {
            d = d.help("write the value, or remove the key");
        }
        self.push(d);
    }

    /// The text of a scalar: a string's value, or another scalar as written.
    fn scalar(&self, node: &At<Node>) -> Option<At<String>> {
        let text = match &node.value {
            Node::Str(s) => s.clone(),
            Node::Bool | Node::Int | Node::Float => self
                .text
                .get(node.span.offset()..node.span.end())?
                .to_string(),
            _ => return None,
        };
        Some(At::new(text, node.span))
    }

    fn value(&mut self, node: &At<Node>, shape: &Shape, at: &Context) {
        match shape {
            Nullable(inner) => {
                if !matches!(node.value, Node::Null) {
                    self.value(node, inner, at);
                }
            }
            Text | Reference => {
                if self.scalar(node).is_none() {
                    self.mistyped(node, "a string", Some(at));
                }
            }
            Version => match self.scalar(node) {
                Some(text) if fits::<i64>(&text.value) => {
                    if text.value.trim() != "1" {
                        self.push(version_finding(&text.value, node.span));
                    }
                }
                _ => self.mistyped(node, "an integer", Some(at)),
            },
            U32 => match self.scalar(node) {
                Some(text) if fits::<u32>(&text.value) => {}
                Some(text) if fits::<i128>(&text.value) => self.push(
                    Diagnostic::new(
                        Code::Schema,
                        format!(
                            "`{}` is out of range for `{}` of {}",
                            text.value, at.field, at.what
                        ),
                    )
                    .label(node.span, "expected a whole number from 0 to 4294967295"),
                ),
                _ => self.mistyped(node, "a whole number", Some(at)),
            },
            Bool => match self.scalar(node) {
                Some(text) if fits::<bool>(&text.value) => {}
                _ => self.mistyped(node, "true or false", Some(at)),
            },
            Ip => match self.scalar(node) {
                Some(text) => self.out.extend(parse_ip(&text).err()),
                None => self.mistyped(node, "an IPv4 address", Some(at)),
            },
            Cidr => match self.scalar(node) {
                Some(text) => self.out.extend(parse_cidr(&text, &at.what).err()),
                None => self.mistyped(node, "a CIDR block", Some(at)),
            },
            Duration => match self.scalar(node) {
                Some(text) => self.out.extend(duration_at(&text, at.field).err()),
                None => self.mistyped(node, "a duration", Some(at)),
            },
            Enum(words) => match self.scalar(node) {
                Some(text) if words.contains(&text.value.as_str()) => {}
                Some(text) => {
                    let close = crate::suggest::closest(&text.value, words.iter().copied());
                    let mut d = Diagnostic::new(
                        Code::Schema,
                        format!("`{}` is not a {} of {}", text.value, at.field, at.what),
                    )
                    .label(text.span, format!("expected {}", words.join(" or ")));
                    if !close.is_empty() {
                        d = d.help(format!("did you mean {}?", crate::suggest::one_of(&close)));
                    }
                    self.push(d);
                }
                None => self.mistyped(node, &format!("one of {}", words.join(", ")), Some(at)),
            },
            List(item) => match &node.value {
                Node::Seq(items) => {
                    for value in items {
                        self.value(value, item, at);
                    }
                }
                _ => {
                    self.mistyped(node, "a list", Some(at));
                    if let (Some(text), Some(d)) = (self.scalar(node), self.out.last_mut()) {
                        d.help =
                            Some(format!("write a list, even of one: [{}]", text.value).into());
                    }
                }
            },
            Block(fields) => self.block(node, fields, at),
            Resources(kind, inner) => self.resources(node, kind, inner, at),
        }
    }

    /// The keys of a map that are strings, each once; a repeated or non-string key is
    /// reported and skipped.
    fn keys<'n>(&mut self, entries: &'n [(At<Node>, At<Node>)]) -> Vec<(At<String>, &'n At<Node>)> {
        let mut seen = HashSet::new();
        let mut keys = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some(name) = self.scalar(key) else {
                self.mistyped(key, "a name", None);
                continue;
            };
            if !seen.insert(name.value.clone()) {
                self.push(
                    Diagnostic::new(
                        Code::Schema,
                        format!("`{}` is declared twice in the same map", name.value),
                    )
                    .label(name.span, "declared again here")
                    .help("each key may appear once; rename or merge the two"),
                );
                continue;
            }
            keys.push((name, value));
        }
        keys
    }

    fn block(&mut self, node: &At<Node>, fields: &'static [Field], at: &Context) {
        let Node::Map(entries) = &node.value else {
            let what = if at.field.is_empty() {
                "a map of fields".to_string()
            } else {
                format!("a map of the fields of {}", at.what)
            };
            return self.mistyped(node, &what, None);
        };
        let keys = self.keys(entries);
        let mut present = HashSet::new();
        for (key, value) in keys {
            let Some(field) = fields.iter().find(|f| f.key == key.value) else {
                let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
                let help = unknown_field_help(&key.value, &known);
                self.push(
                    Diagnostic::new(Code::Schema, format!("unknown field `{}`", key.value))
                        .label(key.span, format!("not a field of {}", at.what))
                        .help(help),
                );
                continue;
            };
            present.insert(field.key);
            let what = if at.what == "the file" {
                field.key.to_string()
            } else if at.what.starts_with("settings") && matches!(field.shape, Block(_)) {
                format!("{}.{}", at.what, field.key)
            } else {
                at.what.clone()
            };
            let inner = Context {
                what,
                key: key.span,
                field: field.key,
            };
            if matches!(value.value, Node::Null) && !field.required {
                continue;
            }
            self.value(value, &field.shape, &inner);
        }
        for field in fields
            .iter()
            .filter(|f| f.required && !present.contains(f.key))
        {
            let span = if !at.key.is_empty() {
                at.key
            } else {
                self.visible(node.span)
            };
            self.push(
                Diagnostic::new(Code::Schema, format!("{} has no `{}`", at.what, field.key))
                    .label(span, format!("`{}` is missing", field.key))
                    .help(format!("add `{}:` to {}", field.key, at.what)),
            );
        }
    }

    fn resources(&mut self, node: &At<Node>, kind: &str, shape: &'static Shape, at: &Context) {
        let Node::Map(entries) = &node.value else {
            return self.mistyped(node, &format!("a map of {kind}s by name"), None);
        };
        for (name, value) in self.keys(entries) {
            self.out.extend(name_finding(&name, kind));
            let inner = Context {
                what: format!("{kind} {}", name.value),
                key: name.span,
                field: at.field,
            };
            self.value(value, shape, &inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<crate::spec::File, Vec<Diagnostic>> {
        crate::spec::load(&Source::new("t.yaml", text))
    }

    fn walk(text: &str) -> Vec<String> {
        let source = Source::new("t.yaml", text);
        findings(&source, super::super::load::options(text.len()))
            .expect("YAML")
            .iter()
            .map(|d| d.message.to_string())
            .collect()
    }

    /// Each block of the table has the fields, and the required ones, that the typed
    /// file has in its JSON Schema.
    #[test]
    fn the_table_is_the_schema() {
        let schema = serde_json::to_value(crate::spec::json_schema()).expect("JSON");
        let defs = &schema["$defs"];
        fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        match (k.as_str(), v.as_str()) {
                            ("$ref", Some(r)) => out.push(r.trim_start_matches("#/$defs/").into()),
                            _ => refs(v, out),
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        fn block_of(shape: &Shape) -> Option<&'static [Field]> {
            match shape {
                Block(fields) => Some(fields),
                Nullable(inner) | List(inner) | Resources(_, inner) => block_of(inner),
                _ => None,
            }
        }
        fn compare(
            fields: &[Field],
            schema: &serde_json::Value,
            defs: &serde_json::Value,
            at: &str,
        ) {
            let properties = schema["properties"].as_object().expect("properties");
            let mut keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
            let mut known: Vec<&str> = properties.keys().map(String::as_str).collect();
            keys.sort_unstable();
            known.sort_unstable();
            assert_eq!(keys, known, "fields of {at}");
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            for field in fields {
                assert_eq!(
                    field.required,
                    required.contains(&field.key),
                    "{at}.{} required",
                    field.key
                );
                let mut found = Vec::new();
                refs(&properties[field.key], &mut found);
                match block_of(&field.shape) {
                    Some(inner) => {
                        assert_eq!(found.len(), 1, "{at}.{} is a block", field.key);
                        compare(inner, &defs[&found[0]], defs, &found[0]);
                    }
                    None => assert!(
                        found.iter().all(|r| defs[r].get("properties").is_none()),
                        "{at}.{} is a block in the schema: {found:?}",
                        field.key
                    ),
                }
            }
        }
        compare(FILE, &schema, defs, "File");
    }

    /// Of every file the typed parse takes (the examples and every YAML file of the
    /// tests), the walk finds only what the model finds too, with the same words and
    /// place.
    #[test]
    fn what_the_typed_parse_takes_the_walk_takes() {
        let mut files = Vec::new();
        let mut folders = vec![std::path::PathBuf::from("examples"), "tests".into()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut loaded = 0;
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            if load(&text).is_ok() {
                loaded += 1;
                let model = crate::validate::validate("t.yaml", text.clone().into_bytes(), None);
                let source = Source::new("t.yaml", text.as_str());
                let options = super::super::load::options(text.len());
                for finding in findings(&source, options).expect("YAML") {
                    assert!(
                        model
                            .diagnostics
                            .iter()
                            .any(|d| d.message == finding.message
                                && d.primary_span() == finding.primary_span()),
                        "{}: the walk alone finds {}",
                        path.display(),
                        finding.message
                    );
                }
            }
        }
        assert!(loaded > 50, "only {loaded} of {} files load", files.len());
    }

    const FILE_TEXT: &str = "version: 1
vpcs:
  main:
    cidr_block: 10.0.0.0/16
subnets:
  web:
    vpc: main
    cidr_block: 10.0.1.0/24
    availability_zone: kr-central-2-a
security_groups:
  web:
    description: DESC
instances:
  web-1:
    type: m2a.large
    image: IMAGE
    primary_interface: web-1-eth0
    root_volume_gb: ROOT
    lifecycle: {prevent_destroy: BOOL}
network_interfaces:
  web-1-eth0:
    subnet: web
    security_groups: GROUPS
";

    fn with(placeholder: &str, value: &str) -> String {
        let mut text = FILE_TEXT.replace(placeholder, value);
        for (p, v) in [
            ("DESC", "d"),
            ("IMAGE", "ubuntu"),
            ("ROOT", "50"),
            ("BOOL", "true"),
            ("GROUPS", "[web]"),
        ] {
            text = text.replace(p, v);
        }
        text
    }

    /// Scalars the typed parse reads in more than one spelling: the walk agrees on
    /// each, either way.
    #[test]
    fn the_walk_agrees_with_the_typed_parse_on_scalars() {
        let taken = [
            ("IMAGE", "80"),
            ("IMAGE", "true"),
            ("IMAGE", "'x'"),
            ("DESC", "1.5"),
            ("ROOT", "'50'"),
            ("ROOT", "0x10"),
            ("ROOT", "+7"),
            ("BOOL", "yes"),
            ("BOOL", "'true'"),
            ("BOOL", "True"),
            ("GROUPS", "[5]"),
            ("GROUPS", "[]"),
            ("GROUPS", "~"),
        ];
        for (p, v) in taken {
            let text = with(p, v);
            assert!(load(&text).is_ok(), "{p}={v}");
            assert_eq!(walk(&text), Vec::<String>::new(), "{p}={v}");
        }
        let refused = [
            ("IMAGE", "~"),
            ("IMAGE", "[a]"),
            ("ROOT", "50.0"),
            ("ROOT", "-1"),
            ("ROOT", "1e3"),
            ("ROOT", "4294967296"),
            ("ROOT", "lots"),
            ("BOOL", "1"),
            ("BOOL", "maybe"),
            ("GROUPS", "web"),
            ("GROUPS", "{a: b}"),
        ];
        for (p, v) in refused {
            let text = with(p, v);
            let Err(all) = load(&text) else {
                panic!("{p}={v} loads");
            };
            assert_eq!(all.len(), 1, "{p}={v}: {:?}", walk(&text));
            assert_eq!(walk(&text).len(), 1, "{p}={v}");
        }
    }

    #[test]
    fn every_mistake_of_a_file_is_found_in_file_order() {
        let text = "version: 2
settings:
  backend: {kind: simm}
vpcs:
  main: {cidr_blok: 10.0.0.0/16}
  Main: {cidr_block: 10.0.0.1/16}
subnets:
  web: {vpc: main, cidr_block: 10.0.1.0/24, availability_zone: a, zone: a}
network_interfaces:
  eth0: {subnet: web, private_ip: 10.0.1.300, private_ip: 10.0.1.4}
  eth1: 5
";
        let all = load(text).expect_err("refused");
        let messages: Vec<&str> = all.iter().map(|d| &*d.message).collect();
        assert_eq!(
            messages,
            [
                "format version 2 is not supported",
                "`simm` is not a kind of settings.backend",
                "VPC main has no `cidr_block`",
                "unknown field `cidr_blok`",
                "`Main` is not a valid VPC name: it must start with a lower-case letter or a digit",
                "the CIDR block of VPC Main, `10.0.0.1/16`, is not a network address",
                "unknown field `zone`",
                "`10.0.1.300` is not an IPv4 address",
                "`private_ip` is declared twice in the same map",
                "expected a map of the fields of network interface eth1, found a number",
            ]
        );
        let offsets: Vec<usize> = all
            .iter()
            .map(|d| d.primary_span().expect("label").offset())
            .collect();
        assert!(offsets.is_sorted(), "{offsets:?}");
    }

    #[test]
    fn a_file_that_is_not_yaml_keeps_the_parser_finding() {
        let all = load("version: 1\nvpcs: [\n").expect_err("refused");
        assert_eq!(all.len(), 1);
    }
}
