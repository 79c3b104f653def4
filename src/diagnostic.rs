//! Diagnostics: what every rule reports, in one shape for every output format.
//!
//! A diagnostic is a code, one sentence, labelled spans (the first is the offending value,
//! the others the parties that explain it) and an optional help. Rules never stop each
//! other: each appends to a shared list, which is sorted into file order before output.

use std::fmt;

use serde::Serialize;

use crate::ident::Ident;
use crate::source::{Source, Span};

/// How serious a finding is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the plan and makes `validate` exit 1.
    Error,
    /// Shown and kept, does not stop anything.
    Warning,
    /// Something worth knowing, no action needed.
    Advice,
}

impl Severity {
    /// The lower-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "advice",
        }
    }
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident => $code:literal, $severity:ident; )*) => {
        /// The stable code of every rule.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Code {
            /// Every code, in the order of the rule catalogue.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as printed, `nicplan::...`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The severity every finding of this code has.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line describing the rule, for the catalogue and for SARIF.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc),*).trim_ascii(),)* }
            }
        }
    };
}

codes! {
    /// The file does not match the desired-state format.
    Schema => "nicplan::schema", Error;
    /// A name refers to no declared resource.
    Reference => "nicplan::reference", Error;
    /// The instance type is not FAMILY.SIZE of the limit table.
    InstanceType => "nicplan::instance_type", Error;
    /// An instance would hold more NICs than its type allows.
    Capacity => "nicplan::capacity", Error;
    /// A secondary NIC's subnet is in another zone than its instance.
    Zone => "nicplan::zone", Error;
    /// A NIC is primary of two instances, or primary of one and attached to another.
    AttachmentConflict => "nicplan::attachment_conflict", Error;
    /// The plan would detach a primary NIC from a living instance.
    PrimaryDetach => "nicplan::primary_detach", Error;
    /// Attach, detach or resize on an instance that is not active or stopped.
    InstanceStatus => "nicplan::instance_status", Error;
    /// A private or secondary IP is not inside its NIC's subnet.
    IpOutsideSubnet => "nicplan::ip_outside_subnet", Error;
    /// An IP is the subnet's network, broadcast or gateway address.
    IpReserved => "nicplan::ip_reserved", Error;
    /// The same private IP is given twice in one subnet.
    IpConflict => "nicplan::ip_conflict", Error;
    /// A NIC of an instance that is not bare metal has no security group.
    SecurityGroupRequired => "nicplan::security_group_required", Error;
    /// A public IP maps to no IP of its NIC, or shares its private IP with another.
    PublicIp => "nicplan::public_ip", Error;
    /// Secondary private IPs on a backend that supports one IP per NIC.
    MultiIpUnsupported => "nicplan::multi_ip_unsupported", Error;
    /// A subnet lies outside its VPC or overlaps another subnet of the VPC.
    Subnet => "nicplan::subnet", Error;
    /// The plan deletes or replaces an instance that has prevent_destroy.
    PreventDestroy => "nicplan::prevent_destroy", Error;
    /// A resize of a running instance whose lifecycle does not allow a stop.
    StopRequired => "nicplan::stop_required", Error;
    /// The project would hold more VPCs, subnets or instances than its quota.
    Quota => "nicplan::quota", Error;
    /// A subnet's usable addresses cannot hold every NIC and IP placed in it.
    SubnetFull => "nicplan::subnet_full", Error;
    /// A name or description the platform refuses (a warning unless the backend is kakaocloud).
    Name => "nicplan::name", Error;
    /// The steps of a plan wait on each other and cannot be put in any safe order.
    Ordering => "nicplan::ordering", Error;
    /// Two NICs of one instance sit in the same subnet.
    SameSubnet => "nicplan::same_subnet", Warning;
    /// A NIC's source/destination check is off.
    SourceDestCheckDisabled => "nicplan::source_dest_check_disabled", Warning;
    /// An instance has several NICs: static routes must be configured on it.
    StaticRouting => "nicplan::static_routing", Advice;
    /// Several NICs do not add bandwidth, except bonding on bare metal.
    Bandwidth => "nicplan::bandwidth", Advice;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl schemars::JsonSchema for Code {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Code".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        schemars::json_schema!({
            "description": "A rule's stable code.",
            "type": "string",
            "enum": codes
        })
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A labelled span: where, and what is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    /// The bytes the label points at.
    pub span: Span,
    /// What the reader should see beside them (interned: most labels are a few fixed
    /// words, said of thousands of values).
    pub text: Ident,
}

/// One finding. A network of many thousand instances may have a finding per instance,
/// so it is kept small: its sentence, a boxed list of labels, an interned help line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule that fired.
    pub code: Code,
    /// How serious it is: its code's severity, unless the rule says otherwise (a name
    /// the platform refuses is an error only with the backend that refuses it).
    pub level: Severity,
    /// One sentence saying what is wrong.
    pub message: Box<str>,
    /// The offending value first, then the other parties.
    pub labels: Box<[Label]>,
    /// How to fix it, where there is a fix.
    pub help: Option<Ident>,
}

impl Diagnostic {
    /// A finding of `code` with no label yet.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            level: code.severity(),
            message: message.into().into_boxed_str(),
            labels: Box::default(),
            help: None,
        }
    }

    /// Adds a labelled span.
    pub fn label(mut self, span: Span, text: impl Into<Ident>) -> Diagnostic {
        let mut labels = std::mem::take(&mut self.labels).into_vec();
        labels.reserve_exact(1);
        labels.push(Label {
            span,
            text: text.into(),
        });
        self.labels = labels.into_boxed_slice();
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<Ident>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the severity, for a rule whose severity depends on the backend.
    pub fn with_severity(mut self, level: Severity) -> Diagnostic {
        self.level = level;
        self
    }

    /// How serious it is.
    pub fn severity(&self) -> Severity {
        self.level
    }

    /// The span of the offending value, if the finding points into the file.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

/// Puts diagnostics in reading order: by position of the offending value, then by code,
/// then by message, so the same input always yields the same sequence.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.primary_span();
        key(a)
            .cmp(&key(b))
            .then(a.code.cmp(&b.code))
            .then_with(|| a.message.cmp(&b.message))
    });
}

/// Counts per severity, for the closing line of every report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Counts {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Number of advice notes.
    pub advice: usize,
}

impl Counts {
    /// Counts the findings of each severity.
    pub fn of(diagnostics: &[Diagnostic]) -> Counts {
        let mut counts = Counts::default();
        for d in diagnostics {
            match d.severity() {
                Severity::Error => counts.errors += 1,
                Severity::Warning => counts.warnings += 1,
                Severity::Advice => counts.advice += 1,
            }
        }
        counts
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {}, {}",
            plural(self.errors, "error", "errors"),
            plural(self.warnings, "warning", "warnings"),
            plural(self.advice, "advice note", "advice notes"),
        )
    }
}

/// A diagnostic bound to its source, in the form miette renders.
pub struct Report<'a> {
    /// The finding.
    pub diagnostic: &'a Diagnostic,
    /// The file its spans point into.
    pub source: &'a Source,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_deref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        if self.diagnostic.labels.is_empty() {
            None
        } else {
            Some(self.source)
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.diagnostic.labels.is_empty() {
            return None;
        }
        // miette merges neighbouring snippets only when labels come in file order; the
        // primary label stays marked as such wherever it falls.
        let mut labels: Vec<miette::LabeledSpan> = self
            .diagnostic
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let text = (!l.text.is_empty()).then(|| l.text.to_string());
                if i == 0 {
                    miette::LabeledSpan::new_primary_with_span(text, l.span)
                } else {
                    miette::LabeledSpan::new_with_span(text, l.span)
                }
            })
            .collect();
        labels.sort_by_key(|l| (l.offset(), l.len()));
        Some(Box::new(labels.into_iter()))
    }
}
