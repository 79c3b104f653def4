//! Reading a desired-state file: bounded in time and memory whatever the input.
//!
//! The YAML budget grows with the input instead of sitting at serde-saphyr's fixed
//! defaults: an honest file of many thousand instances has more nodes than the default
//! allows, while an alias bomb is stopped by the replay limit, which stays fixed, and
//! by the node and event limits, which never exceed what the bytes could hold.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_saphyr::{Budget, Options};

use super::{
    File, Instance, Name, NetworkInterface, PublicIp, Resources, SecurityGroup, Settings, Sp,
    Subnet, Vpc,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Span};

/// Files larger than this are refused before parsing (64 MiB; a file of 10,000
/// instances is about 2 MiB).
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// Alias replays allowed whatever the file size: anchors save typing, they do not
/// multiply a file a thousandfold.
const MAX_REPLAYED_EVENTS: usize = 1_000_000;

/// Turns raw bytes into a source, or a diagnostic when they are too many or not UTF-8.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<Source, Box<(Source, Diagnostic)>> {
    if bytes.len() > MAX_FILE_BYTES {
        let diagnostic = Diagnostic::new(
            Code::Schema,
            format!(
                "the file is {} bytes, more than the {} bytes a desired-state file may have",
                bytes.len(),
                MAX_FILE_BYTES
            ),
        )
        .help("split the network across several files, one state each");
        return Err(Box::new((Source::new(name, ""), diagnostic)));
    }
    // The text is kept to the end of the run: without the room a growing read left.
    let mut bytes = bytes;
    bytes.shrink_to_fit();
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(name, text)),
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let diagnostic =
                Diagnostic::new(Code::Schema, "the file is not valid UTF-8 text".to_string())
                    .label(Span::new(offset, 1), "this byte is not UTF-8")
                    .help("save the file as UTF-8");
            Err(Box::new((Source::new(name, text), diagnostic)))
        }
    }
}

/// The parser options for an input of `len` bytes.
pub(crate) fn options(len: usize) -> Options {
    let mut budget = Budget::default();
    // Every node takes at least two bytes of input ("a," or "a\n"); events are nodes plus
    // their closing events. Aliases replay without bytes, hence their own fixed limit.
    budget.max_nodes = budget.max_nodes.max(len / 2 + 1);
    budget.max_events = budget.max_events.max(len + 1);
    budget.max_depth = 32;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    options.with_snippet = false;
    options
}

/// Receives a file's resources one at a time, as they are read: each kind in file
/// order, whatever the order of the sections. What it keeps of them is its own; the
/// parsed values are dropped as soon as it returns, so a file of many thousand
/// resources never stands in memory twice.
pub trait Sink {
    /// A VPC.
    fn vpc(&mut self, name: &Name, vpc: Vpc);
    /// A subnet.
    fn subnet(&mut self, name: &Name, subnet: Subnet);
    /// A security group (`{}` or nothing, when it has no description).
    fn security_group(&mut self, name: &Name, group: Option<SecurityGroup>);
    /// An instance.
    fn instance(&mut self, name: &Name, instance: Instance);
    /// A network interface.
    fn network_interface(&mut self, name: &Name, nic: NetworkInterface);
    /// A public IP (nothing, when it is allocated and left unassociated).
    fn public_ip(&mut self, name: &Name, public_ip: Option<PublicIp>);
}

/// What a file holds beside its resources.
#[derive(Debug)]
pub struct Head {
    /// The format version: 1.
    pub version: Sp<i64>,
    /// The `settings` block.
    pub settings: Option<Settings>,
}

/// Reads a source, handing each resource to `sink` as it is read. A file that does not
/// fit the format gets every schema finding there is, in file order (see `shape`); a
/// file that is not YAML gets the one finding where the parser stopped. Either way the
/// sink may have been given part of the file.
pub fn read(source: &Source, sink: &mut dyn Sink) -> Result<Head, Vec<Diagnostic>> {
    let text = source.text();
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
    {
        return Err(vec![
            Diagnostic::new(Code::Schema, "the file is empty")
                .help("a desired-state file starts with `version: 1`"),
        ]);
    }
    let read = serde_saphyr::with_deserializer_from_str_with_options(
        text,
        options(text.len()),
        |deserializer| FileSeed { sink }.deserialize(deserializer),
    );
    let head = match read {
        Ok(head) => head,
        Err(err) => {
            return Err(match super::shape::findings(source, options(text.len())) {
                Ok(all) if !all.is_empty() => all,
                // The plain reading names a broken YAML syntax as it is (an unclosed
                // bracket), where the typed one names what it expected there.
                Err(Some(syntax)) => vec![schema_diagnostic(source, &syntax)],
                _ => vec![schema_diagnostic(source, &err)],
            });
        }
    };
    if head.version.value != 1 {
        return Err(vec![version_finding(
            head.version.value,
            super::span_of(&head.version),
        )]);
    }
    Ok(head)
}

/// Parses a source into the file's types, every resource kept (see [`read`] for a
/// reading that keeps what it needs).
pub fn load(source: &Source) -> Result<File, Vec<Diagnostic>> {
    #[derive(Default)]
    struct Collect {
        vpcs: Option<Resources<Vpc>>,
        subnets: Option<Resources<Subnet>>,
        security_groups: Option<Resources<Option<SecurityGroup>>>,
        instances: Option<Resources<Instance>>,
        network_interfaces: Option<Resources<NetworkInterface>>,
        public_ips: Option<Resources<Option<PublicIp>>>,
    }
    impl Sink for Collect {
        fn vpc(&mut self, name: &Name, vpc: Vpc) {
            self.vpcs.get_or_insert_default().insert(name.clone(), vpc);
        }
        fn subnet(&mut self, name: &Name, subnet: Subnet) {
            self.subnets
                .get_or_insert_default()
                .insert(name.clone(), subnet);
        }
        fn security_group(&mut self, name: &Name, group: Option<SecurityGroup>) {
            self.security_groups
                .get_or_insert_default()
                .insert(name.clone(), group);
        }
        fn instance(&mut self, name: &Name, instance: Instance) {
            self.instances
                .get_or_insert_default()
                .insert(name.clone(), instance);
        }
        fn network_interface(&mut self, name: &Name, nic: NetworkInterface) {
            self.network_interfaces
                .get_or_insert_default()
                .insert(name.clone(), nic);
        }
        fn public_ip(&mut self, name: &Name, public_ip: Option<PublicIp>) {
            self.public_ips
                .get_or_insert_default()
                .insert(name.clone(), public_ip);
        }
    }
    let mut all = Collect::default();
    let head = read(source, &mut all)?;
    Ok(File {
        version: head.version,
        settings: head.settings,
        vpcs: all.vpcs,
        subnets: all.subnets,
        security_groups: all.security_groups,
        instances: all.instances,
        network_interfaces: all.network_interfaces,
        public_ips: all.public_ips,
    })
}

/// The top-level blocks of a file, as the derived reading of [`File`] names them.
const FIELDS: &[&str] = &[
    "version",
    "settings",
    "vpcs",
    "subnets",
    "security_groups",
    "instances",
    "network_interfaces",
    "public_ips",
];

/// Reads the top-level map: the version and settings kept, each section of resources
/// handed to the sink entry by entry.
struct FileSeed<'s> {
    sink: &'s mut dyn Sink,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = Head;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Head, D::Error> {
        deserializer.deserialize_struct("File", FIELDS, self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = Head;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a desired-state file")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
        let mut version = None;
        let mut settings = None;
        while let Some(key) = map.next_key::<String>()? {
            let section = match key.as_str() {
                "version" => {
                    version = Some(map.next_value::<Sp<i64>>()?);
                    continue;
                }
                "settings" => {
                    settings = map.next_value::<Option<Settings>>()?;
                    continue;
                }
                "vpcs" => Section::Vpcs,
                "subnets" => Section::Subnets,
                "security_groups" => Section::SecurityGroups,
                "instances" => Section::Instances,
                "network_interfaces" => Section::NetworkInterfaces,
                "public_ips" => Section::PublicIps,
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            };
            map.next_value_seed(SectionSeed {
                sink: &mut *self.sink,
                section,
            })?;
        }
        let version = version.ok_or_else(|| de::Error::missing_field("version"))?;
        Ok(Head { version, settings })
    }
}

#[derive(Clone, Copy)]
enum Section {
    Vpcs,
    Subnets,
    SecurityGroups,
    Instances,
    NetworkInterfaces,
    PublicIps,
}

/// One section of resources (or nothing: `vpcs:` alone is an empty section).
struct SectionSeed<'s> {
    sink: &'s mut dyn Sink,
    section: Section,
}

impl<'de> DeserializeSeed<'de> for SectionSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for SectionSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map of resources by name")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<Name>()? {
            match self.section {
                Section::Vpcs => self.sink.vpc(&name, map.next_value()?),
                Section::Subnets => self.sink.subnet(&name, map.next_value()?),
                Section::SecurityGroups => self.sink.security_group(&name, map.next_value()?),
                Section::Instances => self.sink.instance(&name, map.next_value()?),
                Section::NetworkInterfaces => self.sink.network_interface(&name, map.next_value()?),
                Section::PublicIps => self.sink.public_ip(&name, map.next_value()?),
            }
        }
        Ok(())
    }
}

/// The help for an unknown field among the `known` ones of its block: the closest
/// names, or a part of one (`zone` for `availability_zone`), else every name.
pub(crate) fn unknown_field_help(field: &str, known: &[&str]) -> String {
    let mut close = crate::suggest::closest(field, known.iter().copied());
    if close.is_empty() && field.len() >= 3 {
        close = known
            .iter()
            .copied()
            .filter(|k| k.contains(field))
            .collect();
    }
    if close.is_empty() {
        format!("known fields here: {}", known.join(", "))
    } else {
        format!("did you mean {}?", crate::suggest::one_of(&close))
    }
}

/// The finding for a format version other than 1, written as `shown`.
pub(crate) fn version_finding(shown: impl std::fmt::Display, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Schema,
        format!("format version {shown} is not supported"),
    )
    .label(span, "this nicplan reads version 1")
    .help("write `version: 1`")
}

/// The byte offset of a 1-based line and column (in characters), when the text has
/// them.
fn offset_of(text: &str, line: u64, column: u64) -> Option<usize> {
    let line = usize::try_from(line.checked_sub(1)?).ok()?;
    let start = if line == 0 {
        0
    } else {
        text.match_indices('\n').nth(line - 1)?.0 + 1
    };
    let column = usize::try_from(column.saturating_sub(1)).ok()?;
    let rest = &text[start..];
    Some(
        start
            + rest
                .char_indices()
                .nth(column)
                .map_or(rest.len(), |(i, _)| i),
    )
}

fn schema_diagnostic(source: &Source, err: &serde_saphyr::Error) -> Diagnostic {
    let raw = err.without_snippet().to_string();
    let (message, label, help) = explain(&raw);
    let mut diagnostic = Diagnostic::new(Code::Schema, message);
    if let Some(location) = err.location() {
        let span = location.span();
        let offset = span
            .byte_offset()
            .and_then(|o| usize::try_from(o).ok())
            .or_else(|| offset_of(source.text(), location.line(), location.column()))
            .unwrap_or(0)
            .min(source.text().len());
        // A tab is reported after it; point at the first tab of the line's indent.
        let offset = if raw.starts_with("tabs disallowed") {
            let line_start = source.text()[..offset].rfind('\n').map_or(0, |i| i + 1);
            source.text()[line_start..]
                .find('\t')
                .map_or(offset, |i| line_start + i)
        } else {
            offset
        };
        let len = span
            .byte_len()
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(0);
        let len = len.min(source.text().len() - offset).max(1);
        diagnostic = diagnostic.label(Span::new(offset, len), label);
    }
    if let Some(help) = help {
        diagnostic = diagnostic.help(help);
    }
    diagnostic
}

/// Rewrites the parser's message for people who write YAML, not Rust: its first line,
/// without the location it appends (ours is a span), with a label and help where the
/// message is one we recognise.
fn explain(raw: &str) -> (String, String, Option<String>) {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let first = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    let message = first.trim_end_matches('.').to_string();
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return (
            format!("`{key}` is declared twice in the same map"),
            "declared again here".into(),
            Some("each key may appear once; rename or merge the two".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once("`, expected one of ").unwrap_or((rest, ""));
        let field = field.trim_end_matches('`');
        let known: Vec<&str> = expected.split(", ").filter(|s| !s.is_empty()).collect();
        return (
            format!("unknown field `{field}`"),
            "not a field of this block".into(),
            Some(unknown_field_help(field, &known)),
        );
    }
    if message.starts_with("tabs disallowed") {
        return (
            "a tab indents this line; YAML indents with spaces only".into(),
            "a tab".into(),
            Some("replace the tab with spaces".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("unclosed bracket '") {
        let open = rest.chars().next().unwrap_or('[');
        let close = if open == '{' { '}' } else { ']' };
        return (
            format!("the `{open}` opened here is never closed"),
            format!("opened here, no `{close}` follows"),
            Some(format!("close it with `{close}`")),
        );
    }
    if let Some(rest) = message.strip_prefix("mismatched bracket '") {
        let open = rest.chars().next().unwrap_or('[');
        let close = if open == '{' { '}' } else { ']' };
        let found = rest
            .rsplit("closed by '")
            .next()
            .and_then(|r| r.chars().next())
            .unwrap_or('?');
        return (
            format!("the `{open}` opened here is closed by `{found}`"),
            format!("opened here; `{close}` closes it"),
            Some(format!("close the `{open}` with `{close}`")),
        );
    }
    if message.starts_with("multiple YAML documents detected") {
        return (
            "the file holds more than one YAML document".into(),
            "another document starts here".into(),
            Some("a desired-state file is one document: remove the `---` line and merge the two, or split them into two files".into()),
        );
    }
    if message.starts_with("recursive references require") {
        return (
            "an alias refers to the anchor it sits inside of, which would repeat forever".into(),
            "here".into(),
            Some("an alias may only repeat a value that is complete before it".into()),
        );
    }
    if message.starts_with("cannot deserialize null into") {
        return (
            "expected a value, found nothing (null)".into(),
            "empty here".into(),
            Some("write the value, or remove the key".into()),
        );
    }
    let readable = match message.as_str() {
        "invalid i64" | "invalid u32" | "invalid u64" => "expected an integer".to_string(),
        "expected string scalar" => "expected a string".to_string(),
        "invalid boolean" => "expected true or false".to_string(),
        _ => message,
    };
    (readable, "here".into(), None)
}
