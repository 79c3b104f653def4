//! From the file's types to the model: parse every value, check every name, and report
//! each malformed one as `nicplan::schema` without stopping at the first. The model is
//! built as the parser reads the file, one resource at a time (the builder is the
//! parser's [`crate::spec::Sink`]), so the parsed file never stands whole beside it.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{
    Capabilities, Instance, Model, NetworkInterface, PublicIp, Quota, Quotas, SecurityGroup,
    Subnet, Timeouts, Vpc,
};
use crate::catalogue;
use crate::diagnostic::{Code, Diagnostic};
use crate::ident::Ident;
use crate::source::{At, Source, Span};
use crate::spec::{self, BackendKind, Head, Name, Sp, StateKind, at, ident, span_of};

/// Reads a file's source into its model, resource by resource as the parser reads
/// them. `backend` overrides `settings.backend.kind` (a command-line flag or
/// environment variable). A file that does not fit the format gets its schema findings
/// and no model.
pub fn build(
    source: &Source,
    backend: Option<BackendKind>,
) -> Result<(Model, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut b = Builder {
        text: source.text(),
        model: Model::default(),
        diagnostics: Vec::new(),
    };
    let file = crate::spec::read(source, &mut b)?;
    b.model.capabilities = b.settings(&file, backend);
    if let Some(settings) = &file.settings {
        let value = |v: &Option<Sp<String>>| v.as_ref().map(|v| v.value.clone());
        let s = &mut b.model.settings;
        if let Some(backend) = &settings.backend {
            s.backend = Some(backend.kind.value);
            s.sim_path = value(&backend.path);
            s.region = value(&backend.region);
            if let Some(e) = &backend.endpoints {
                s.endpoints = super::Endpoints {
                    iam: value(&e.iam),
                    vpc: value(&e.vpc),
                    network: value(&e.network),
                    bcs: value(&e.bcs),
                };
            }
        }
        if let Some(state) = &settings.state {
            s.state = Some(state.kind.value);
            s.state_path = value(&state.path);
            s.state_url = value(&state.url);
            s.state_name = value(&state.name);
        }
        if let Some(quotas) = &settings.quotas {
            let quota = |given: &Option<Sp<u32>>, default: Quota| {
                given.as_ref().map_or(default, |q| Quota {
                    limit: q.value,
                    span: Some(span_of(q)),
                    lowered_from: None,
                })
            };
            s.quotas = Quotas {
                vpcs: quota(&quotas.vpcs, Quotas::DEFAULT.vpcs),
                subnets: quota(&quotas.subnets, Quotas::DEFAULT.subnets),
                instances: quota(&quotas.instances, Quotas::DEFAULT.instances),
            };
        }
        if let Some(t) = &settings.timeouts {
            let timeouts = Timeouts {
                vpc: b.duration(&t.vpc, "vpc"),
                subnet: b.duration(&t.subnet, "subnet"),
                security_group: b.duration(&t.security_group, "security_group"),
                network_interface: b.duration(&t.network_interface, "network_interface"),
                instance: b.duration(&t.instance, "instance"),
                public_ip: b.duration(&t.public_ip, "public_ip"),
            };
            b.model.settings.timeouts = timeouts;
        }
    }
    b.model.index();
    b.diagnostics.shrink_to_fit();
    Ok((b.model, b.diagnostics))
}

impl crate::spec::Sink for Builder<'_> {
    fn vpc(&mut self, name: &Name, vpc: spec::Vpc) {
        let b = self;
        let name = b.name(name, "VPC");
        let cidr_block = b.cidr(&vpc.cidr_block, &format!("VPC {}", name.value));
        b.model.vpcs.insert(name.value, Vpc { name, cidr_block });
    }

    fn subnet(&mut self, name: &Name, subnet: spec::Subnet) {
        let b = self;
        let name = b.name(name, "subnet");
        let value = Subnet {
            name: name.clone(),
            vpc: subnet.vpc.at(),
            cidr_block: b.cidr(&subnet.cidr_block, &format!("subnet {}", name.value)),
            availability_zone: ident(&subnet.availability_zone),
        };
        b.model.subnets.insert(name.value, value);
    }

    fn security_group(&mut self, name: &Name, group: Option<spec::SecurityGroup>) {
        let b = self;
        let name = b.name(name, "security group");
        let description = group
            .as_ref()
            .and_then(|g| g.description.as_ref())
            .map(ident);
        b.model
            .security_groups
            .insert(name.value, SecurityGroup { name, description });
    }

    fn instance(&mut self, name: &Name, instance: spec::Instance) {
        let b = self;
        let name = b.name(name, "instance");
        let value = Instance {
            name: name.clone(),
            type_name: ident(&instance.instance_type),
            instance_type: catalogue::lookup(&instance.instance_type.value),
            image: ident(&instance.image),
            primary_interface: instance.primary_interface.at(),
            prevent_destroy: instance
                .lifecycle
                .as_ref()
                .and_then(|l| l.prevent_destroy.as_ref())
                .map(at),
            allow_stop: instance
                .lifecycle
                .as_ref()
                .and_then(|l| l.allow_stop.as_ref())
                .map(at),
            root_volume_gb: instance.root_volume_gb.as_ref().map(at),
            bonding: instance.bonding.as_ref().map(at),
        };
        if let Some(bonding) = &value.bonding
            && value.instance_type.is_some()
            && !value.is_bare_metal()
        {
            b.diagnostics.push(
                Diagnostic::new(
                    Code::Schema,
                    format!(
                        "instance {} is a virtual machine ({}); only bare metal bonds its network interfaces",
                        value.name.value, value.type_name.value
                    ),
                )
                .label(bonding.span, "for bare metal only")
                .help("remove bonding, or choose a bare-metal type"),
            );
        }
        if let Some(size) = &value.root_volume_gb {
            if value.is_bare_metal() {
                b.diagnostics.push(
                    Diagnostic::new(
                        Code::Schema,
                        format!(
                            "instance {} is bare metal ({}), which boots from its own disks and takes no root volume",
                            value.name.value, value.type_name.value
                        ),
                    )
                    .label(size.span, "not for bare metal")
                    .help("remove root_volume_gb"),
                );
            } else if size.value == 0 {
                b.diagnostics.push(
                    Diagnostic::new(
                        Code::Schema,
                        format!(
                            "instance {} asks for a root volume of 0 GB",
                            value.name.value
                        ),
                    )
                    .label(size.span, "0 GB")
                    .help("give the size in GB, at least what the image needs (50 when omitted)"),
                );
            }
        }
        b.model.instances.insert(name.value, value);
    }

    fn network_interface(&mut self, name: &Name, nic: spec::NetworkInterface) {
        let b = self;
        let name = b.name(name, "network interface");
        let value = NetworkInterface {
            name: name.clone(),
            subnet: nic.subnet.at(),
            description: nic.description.as_ref().map(ident),
            private_ip: nic.private_ip.as_ref().and_then(|ip| b.ip(ip)),
            secondary_private_ips: nic
                .secondary_private_ips
                .iter()
                .flat_map(|list| &list.value)
                .filter_map(|ip| b.ip(ip))
                .collect(),
            secondary_private_ips_span: nic
                .secondary_private_ips
                .as_ref()
                .map(|l| list_span(b.text, span_of(l), l.value.iter().map(span_of))),
            security_groups: nic
                .security_groups
                .iter()
                .flat_map(|list| &list.value)
                .map(Name::at)
                .collect(),
            security_groups_span: nic
                .security_groups
                .as_ref()
                .map(|l| list_span(b.text, span_of(l), l.value.iter().map(|n| span_of(&n.0)))),
            source_dest_check: nic.source_dest_check.as_ref().map(at),
            attach_to: nic.attach_to.as_ref().map(Name::at),
        };
        b.model.network_interfaces.insert(name.value, value);
    }

    fn public_ip(&mut self, name: &Name, public_ip: Option<spec::PublicIp>) {
        let b = self;
        let name = b.name(name, "public IP");
        let value = PublicIp {
            name: name.clone(),
            network_interface: public_ip
                .as_ref()
                .and_then(|p| p.network_interface.as_ref())
                .map(Name::at),
            private_ip: public_ip
                .as_ref()
                .and_then(|p| p.private_ip.as_ref())
                .and_then(|ip| b.ip(ip)),
        };
        b.model.public_ips.insert(name.value, value);
    }
}

struct Builder<'t> {
    /// The file's text, for the spans of whole lists.
    text: &'t str,
    model: Model,
    diagnostics: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn name(&mut self, name: &Name, kind: &str) -> At<Ident> {
        let name = name.at();
        self.diagnostics.extend(name_finding(&name, kind));
        name
    }

    fn ip(&mut self, value: &Sp<String>) -> Option<At<Ipv4Addr>> {
        parse_ip(value).map_err(|d| self.diagnostics.push(d)).ok()
    }

    fn cidr(&mut self, value: &Sp<String>, owner: &str) -> Option<At<Ipv4Net>> {
        parse_cidr(value, owner)
            .map_err(|d| self.diagnostics.push(d))
            .ok()
    }

    fn duration(&mut self, value: &Option<Sp<String>>, key: &str) -> Option<std::time::Duration> {
        let value = value.as_ref()?;
        duration_at(value, key)
            .map_err(|d| self.diagnostics.push(d))
            .ok()
    }

    fn misplaced<T>(&mut self, field: &Option<Sp<T>>, name: &str, belongs_to: &str) {
        if let Some(value) = field {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Schema,
                    format!("`{name}` applies only to the {belongs_to}"),
                )
                .label(span_of(value), "not used here")
                .help(format!("remove `{name}` or change `kind`")),
            );
        }
    }

    fn settings(&mut self, file: &Head, override_kind: Option<BackendKind>) -> Capabilities {
        let settings = file.settings.as_ref();
        if let Some(state) = settings.and_then(|s| s.state.as_ref()) {
            match state.kind.value {
                StateKind::Local => {
                    self.misplaced(&state.url, "url", "postgres state store");
                    self.misplaced(&state.name, "name", "postgres state store");
                }
                StateKind::Postgres => {
                    self.misplaced(&state.path, "path", "local state store");
                    if let Some(url) = &state.url
                        && url_has_password(&url.value)
                    {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::Schema,
                                "the state URL carries a password, which must not be kept in a file under version control",
                            )
                            .label(span_of(url), "password in the URL")
                            .help("remove it from the URL and set PGPASSWORD (or use a .pgpass file) instead"),
                        );
                    }
                }
            }
        }
        let backend = settings.and_then(|s| s.backend.as_ref());
        if let Some(backend) = backend {
            match backend.kind.value {
                BackendKind::Sim => {
                    self.misplaced(&backend.region, "region", "kakaocloud backend");
                    if let Some(e) = &backend.endpoints {
                        for field in [&e.iam, &e.vpc, &e.network, &e.bcs] {
                            self.misplaced(field, "endpoints", "kakaocloud backend");
                        }
                    }
                }
                BackendKind::Kakaocloud => {
                    self.misplaced(&backend.path, "path", "sim backend");
                    self.misplaced(&backend.multiple_ips, "multiple_ips", "sim backend");
                }
            }
        }
        let file_kind = backend.map(|b| b.kind.value);
        match override_kind.or(file_kind).unwrap_or(BackendKind::Sim) {
            BackendKind::Kakaocloud => Capabilities {
                multiple_ips: false,
                decided_at: backend
                    .filter(|_| override_kind.is_none())
                    .map(|b| span_of(&b.kind)),
                backend: "kakaocloud",
            },
            BackendKind::Sim => {
                let flag = backend
                    .filter(|b| b.kind.value == BackendKind::Sim)
                    .and_then(|b| b.multiple_ips.as_ref());
                Capabilities {
                    multiple_ips: flag.is_none_or(|f| f.value),
                    decided_at: flag.map(span_of),
                    backend: "sim",
                }
            }
        }
    }
}

/// The finding for a resource name that breaks the naming rule, if it does.
pub(crate) fn name_finding<N: AsRef<str>>(name: &At<N>, kind: &str) -> Option<Diagnostic> {
    let text = name.value.as_ref();
    let problem = name_problem(text)?;
    Some(
        Diagnostic::new(
            Code::Schema,
            format!("`{text}` is not a valid {kind} name: {problem}"),
        )
        .label(name.span, problem)
        .help("names are 1 to 63 characters of a-z, 0-9, - and _, starting with a letter or digit"),
    )
}

/// A private IP as written, or the finding that it is not one.
pub(crate) fn parse_ip(value: &At<String>) -> Result<At<Ipv4Addr>, Diagnostic> {
    let text = value.value.trim();
    text.parse::<Ipv4Addr>()
        .map(|ip| At::new(ip, value.span))
        .map_err(|_| {
            Diagnostic::new(
                Code::Schema,
                format!("`{}` is not an IPv4 address", value.value),
            )
            .label(value.span, "expected an address such as 10.0.1.10")
            .help(if text.contains('/') {
                "a private IP is a single address, without a prefix length"
            } else {
                "an IPv4 address is four numbers from 0 to 255 joined by dots"
            })
        })
}

/// The CIDR block of `owner` as written, or the finding that it is not a network.
pub(crate) fn parse_cidr(value: &At<String>, owner: &str) -> Result<At<Ipv4Net>, Diagnostic> {
    let span = value.span;
    match value.value.trim().parse::<Ipv4Net>() {
        Ok(net) if net.network() == net.addr() => Ok(At::new(net, span)),
        Ok(net) => Err(Diagnostic::new(
            Code::Schema,
            format!(
                "the CIDR block of {owner}, `{}`, is not a network address",
                value.value
            ),
        )
        .label(span, "host bits are set")
        .help(format!("did you mean {}?", net.trunc()))),
        Err(_) => Err(Diagnostic::new(
            Code::Schema,
            format!(
                "the CIDR block of {owner}, `{}`, is not an IPv4 CIDR block",
                value.value
            ),
        )
        .label(span, "expected a block such as 10.0.0.0/16")),
    }
}

/// The duration of `settings.timeouts.KEY` as written, or the finding that it is none.
pub(crate) fn duration_at(
    value: &At<String>,
    key: &str,
) -> Result<std::time::Duration, Diagnostic> {
    parse_duration(&value.value).ok_or_else(|| {
        Diagnostic::new(
            Code::Schema,
            format!(
                "`{}` is not a duration for settings.timeouts.{key}",
                value.value
            ),
        )
        .label(value.span, "expected a duration")
        .help("write a whole number with a unit: 500ms, 90s, 10m or 1h")
    })
}

/// A duration as the file writes it: a whole number and one of `ms`, `s`, `m`, `h`.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(std::time::Duration::from_millis(ms))
}

/// Whether a `postgres://user:password@host/db` URL has a password in it.
fn url_has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// The span of a whole list: serde-saphyr gives the opening bracket (or first item) of a
/// sequence; extend it over its items and, in flow style, the closing bracket.
fn list_span(text: &str, list: Span, items: impl Iterator<Item = Span>) -> Span {
    let mut end = items.fold(list.end(), |end, item| end.max(item.end()));
    let flow = text
        .get(list.offset()..)
        .is_some_and(|t| t.starts_with('['));
    if flow
        && let Some(rest) = text.get(end..)
        && let Some(close) = rest.find(']')
        && !rest[..close].contains('\n')
    {
        end += close + 1;
    }
    Span::new(list.offset(), end.saturating_sub(list.offset()))
}

/// Why a resource name is invalid, or `None` when it is fine.
pub fn name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Some("it is empty"),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return Some("it must start with a lower-case letter or a digit");
        }
        Some(_) => {}
    }
    if name.chars().count() > 63 {
        return Some("it is longer than 63 characters");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Some("only a-z, 0-9, - and _ are allowed");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::name_problem;

    #[test]
    fn durations() {
        use super::parse_duration;
        use std::time::Duration;
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("1.5m"), None);
        assert_eq!(parse_duration("99999999999999999h"), None);
    }

    #[test]
    fn names() {
        assert_eq!(name_problem("web-1_eth0"), None);
        assert_eq!(name_problem("0abc"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("-web").is_some());
        assert!(name_problem("Web").is_some());
        assert!(name_problem("web.1").is_some());
        assert!(name_problem(&"a".repeat(63)).is_none());
        assert!(name_problem(&"a".repeat(64)).is_some());
    }
}
