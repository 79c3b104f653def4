//! The `kakaocloud` backend: [`Cloud`] over KakaoCloud's REST API, as described in
//! `domain/kakaocloud-api.md`, with ureq.
//!
//! Job: translate each trait call into the platform's calls and the platform's objects
//! back into `Cloud*` values; authenticate; survive a flaky network. Every request body
//! is built from, and every answer decoded into, the platform's own model of that call
//! ([`crate::cloud::wire`]); an answer that does not fit its model is
//! [`CloudError::Unavailable`] naming the call. The platform enforces its own rules: a
//! 4xx comes back as [`CloudError::Rejected`], `KakaoCloud refused METHOD PATH (HTTP n)
//! CODE: MESSAGE` with the platform's words (a 422 lists each field it refused, as
//! `body.vpc.cidr_block: MESSAGE`), except a 404 on a call about one object (a get, an
//! update or a delete), which is [`CloudError::NotFound`].
//!
//! Hosts: IAM at `https://iam.kakaocloud.com`, the VPC, Network and BCS services at
//! `https://{vpc,network,bcs}.{region}.kakaocloud.com`, every API path under `/api/v1`.
//! With [`KakaoConfig::endpoint`] (`KAKAOCLOUD_ENDPOINT`) set, every call, the token
//! included, goes to that one base URL instead (how it is pointed at `nicplan sim
//! serve`).
//!
//! Authentication: an IAM application credential is exchanged for a token
//! (`X-Subject-Token`), which is cached and sent as `X-Auth-Token`; a 401 renews it
//! once and repeats the call.
//!
//! Retries: a 429, a 5xx, a timeout or a connection error is retried up to
//! [`KakaoConfig::max_retries`] times (`KAKAOCLOUD_MAX_RETRIES`), waiting
//! `backoff * 2^attempt` (`KAKAOCLOUD_RETRY_BACKOFF_MS`; at most 30 s) or
//! what `Retry-After` says (in seconds, at most 60 s). A 4xx is never retried.
//! A call that changes something and failed in a way that leaves its outcome unknown
//! (a timeout after sending, a 500/502/504) is not blindly repeated:
//! - a create first looks for the object it may have made and returns that one, so a
//!   retry never makes a duplicate: a security group, NIC, instance or public IP by
//!   the exact description it sent (the `[nicplan:LINEAGE/ADDR]` marker makes it
//!   unique); a VPC by name and CIDR, a subnet by name, CIDR, zone and VPC, among the
//!   ones that were not there before the call (the platform takes no description for
//!   either). A create without a marker is not repeated after such a failure (429, 503
//!   and refused connections say nothing was done, and are retried);
//! - any other change that the repeat finds refused is checked: a delete answered 404
//!   succeeded; an attach, detach, associate, disassociate, stop, start or resize
//!   answered 4xx is checked by reading the object, and succeeded when the object is
//!   already as asked (or, for a stop, start or resize, on its way there).
//!
//! Reads: [`Cloud::inventory`] lists the six collections concurrently, 100 objects per
//! page (`limit`/`offset`), so N objects cost about N/100 calls, never one per object.
//!
//! Decisions where the doc is silent (`crate::cloud::serve` accepts the same):
//! - Flavors: the file names them `FAMILY.SIZE`; `flavor_id` and resize bodies need IDs,
//!   so the flavor list (`GET /flavors`) is read once, on first need, and names are
//!   mapped to IDs (and back, when an instance shows its flavor without a name).
//! - Images: `image` from the file is sent as `image_id` and read back from
//!   `image.id`, so on the real platform it must be an image ID.
//! - Creating an instance: `{"instance": {"name", "description", "flavor_id",
//!   "image_id", "subnets": [{"id": SUBNET, "network_interface_id": PRIMARY NIC}],
//!   "volumes": [...], "security_groups": []}}`. A virtual machine or GPU flavor boots
//!   from one volume `{"size": root_volume_gb, "source_type": "image", "uuid": IMAGE,
//!   "is_delete_on_termination": true}`; a bare-metal flavor (`instance_type: bm` in
//!   the flavor list) takes `volumes: []`, and `is_bonding: true` when the file asks
//!   for bonding. No security group is sent: the NIC made
//!   beforehand carries its own. The answer holds only an ID, so the instance is read
//!   back with a get. Resize: `POST /instances/{id}/resize` with `{"flavor": {"id"}}`.
//! - An instance's primary NIC is the first entry of its `addresses` (the platform makes
//!   the first `subnets` entry the primary and lists it first).
//! - Instance status: `active`, `stopped`, `shelved_offloaded`, `error` as named (also
//!   `shutoff` as stopped), `stopping`, `starting`, `resizing`, `deleting` as those
//!   transitions; any other value (`building`, `rebuilding`, ...) is a transition and
//!   reads as building. A public IP without a `status` is `in_use` when it has a
//!   related resource; a VPC or subnet without `provisioning_status` is `ACTIVE`.
//! - Source/destination check: `false` is written as one allowed address pair
//!   `0.0.0.0/0`, `true` as none; read back, any pair at all means `false`.
//! - Secondary private IPs are refused before any call ([`Cloud::multiple_ips`] is
//!   false): the platform does not offer several IPs per NIC yet.
//! - Descriptions are sent on every create that takes one (security group, NIC,
//!   instance, public IP) and read back, so nicplan's markers survive. A VPC or subnet
//!   create sends only its name and CIDR (and zone and VPC): the state keeps their IDs.
//! - Associating a public IP: `PUT /public-ips/{id}/network-interfaces/{nic_id}` with
//!   no body; the platform maps the NIC's primary IP, so asking for any other address
//!   is refused before the call.
//! - A NIC created with `source_dest_check: false`, or updated, takes two calls: the
//!   create or `PUT` (name, description, security groups), then
//!   `PUT .../allowed-address-pairs` when the check differs. A failure between them
//!   leaves the NIC with the check on, which the next refresh shows as drift.
//! - A `POST` or `PUT` without a body is sent with `Content-Length: 0`, not chunked.
//! - `X-Api-Version: 1.3.0` is sent on every API call, as the official tools send it.
//! - The token is renewed 5 minutes before the `token.expires_at` of its answer, and
//!   once more on a 401.
//!
//! Invariants: the credential and the token never appear in an error message or in
//! `Debug` output (messages from the platform are scrubbed of them); no call panics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ipnet::Ipv4Net;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::wire::{bcs, iam, network, vpc};
use super::{
    Cloud, CloudError, CloudInstance, CloudNic, CloudPublicIp, CloudSecurityGroup, CloudSubnet,
    CloudVpc, InstanceRequest, Inventory, NicRequest, NicUpdate, Provisioning, PublicIpStatus,
};
use crate::resource::{NicStatus, Status};

/// The variable holding the application credential's ID.
pub const ID_VAR: &str = "KAKAOCLOUD_APPLICATION_CREDENTIAL_ID";
/// The variable holding the application credential's secret.
pub const SECRET_VAR: &str = "KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET";
/// The variable naming one base URL for every service.
pub const ENDPOINT_VAR: &str = "KAKAOCLOUD_ENDPOINT";
/// The variable setting how many times a failed call is repeated.
pub const RETRIES_VAR: &str = "KAKAOCLOUD_MAX_RETRIES";
/// The variable setting the first pause before a repeat, in milliseconds.
pub const BACKOFF_VAR: &str = "KAKAOCLOUD_RETRY_BACKOFF_MS";
/// `debug` logs every request and answer on standard error, credentials and tokens
/// redacted.
pub const LOG_VAR: &str = "NICPLAN_LOG";
/// How much of a body a debug log line shows.
const LOGGED_BODY: usize = 2000;
/// The region when none is given.
pub const DEFAULT_REGION: &str = "kr-central-2";
/// The IAM service.
pub const IAM_URL: &str = "https://iam.kakaocloud.com";
/// Objects asked for per list call.
pub const PAGE_LIMIT: usize = 100;

/// The path of the token call.
const TOKEN_PATH: &str = "/identity/v3/auth/tokens";
/// The prefix of every API path.
const API_PREFIX: &str = "/api/v1";
/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Pages read from one list at most, against a platform that never stops paging.
const MAX_PAGES: usize = 10_000;
/// The largest answer read.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;
/// The allowed address pair that stands for `source_dest_check: false`.
const ANY_ADDRESS_PAIR: &str = "0.0.0.0/0";
/// What replaces a secret in a message.
const REDACTED: &str = "[redacted]";

/// How to reach KakaoCloud. `Debug` shows no credential.
#[derive(Clone)]
pub struct KakaoConfig {
    /// One base URL for every service (`KAKAOCLOUD_ENDPOINT`), such as
    /// `http://127.0.0.1:8080`; `None` for the platform's own hosts.
    pub endpoint: Option<String>,
    /// The region, `kr-central-2` by default.
    pub region: String,
    /// Base URLs per service, given by the user for a region whose hosts are not
    /// documented; a service without one uses the documented host (for `kr-central-2`
    /// only, IAM everywhere).
    pub hosts: crate::model::Endpoints,
    /// The application credential's ID.
    pub credential_id: String,
    /// The application credential's secret.
    pub credential_secret: String,
    /// How long one HTTP exchange may take.
    pub timeout: Duration,
    /// How many times a failed call is repeated (429, 5xx, timeouts, connection errors).
    pub max_retries: u32,
    /// The first pause before a repeat; it doubles each time.
    pub backoff: Duration,
    /// Whether every request and answer is logged on standard error (`NICPLAN_LOG=debug`).
    pub debug: bool,
}

impl KakaoConfig {
    /// A configuration for the platform's own hosts in the default region, with a 30 s
    /// timeout, 5 retries and a 500 ms first backoff.
    pub fn new(credential_id: impl Into<String>, credential_secret: impl Into<String>) -> Self {
        KakaoConfig {
            endpoint: None,
            region: DEFAULT_REGION.to_string(),
            hosts: crate::model::Endpoints::default(),
            credential_id: credential_id.into(),
            credential_secret: credential_secret.into(),
            timeout: Duration::from_secs(30),
            max_retries: 5,
            backoff: Duration::from_millis(500),
            debug: false,
        }
    }

    /// Reads the credential and the endpoint from the environment
    /// (`KAKAOCLOUD_APPLICATION_CREDENTIAL_ID`, `..._SECRET`, `KAKAOCLOUD_ENDPOINT`);
    /// `region` defaults to `kr-central-2`, `hosts` are the file's
    /// `settings.backend.endpoints`.
    pub fn from_env(
        region: Option<&str>,
        hosts: &crate::model::Endpoints,
    ) -> Result<KakaoConfig, CloudError> {
        KakaoConfig::from_vars(region, hosts, |name| std::env::var(name).ok())
    }

    /// As [`KakaoConfig::from_env`], with the variables looked up by `var`.
    pub fn from_vars(
        region: Option<&str>,
        hosts: &crate::model::Endpoints,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<KakaoConfig, CloudError> {
        let need = |name: &str| {
            var(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                CloudError::Unavailable(format!(
                    "{name} is not set: the kakaocloud backend needs an IAM application credential in {ID_VAR} and {SECRET_VAR}"
                ))
            })
        };
        let id = need(ID_VAR)?;
        let secret = need(SECRET_VAR)?;
        let mut config = KakaoConfig::new(id.trim(), secret.trim());
        if let Some(region) = region {
            config.region = region.to_string();
        }
        config.hosts = hosts.clone();
        config.endpoint = var(ENDPOINT_VAR).filter(|v| !v.trim().is_empty());
        let number = |name: &str, most: u64| -> Result<Option<u64>, CloudError> {
            let Some(text) = var(name).filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            match text.trim().parse::<u64>() {
                Ok(n) if n <= most => Ok(Some(n)),
                _ => Err(CloudError::Unavailable(format!(
                    "{name} must be a whole number from 0 to {most}, not {:?}",
                    text.trim()
                ))),
            }
        };
        if let Some(n) = number(RETRIES_VAR, 100)? {
            config.max_retries = u32::try_from(n).unwrap_or(100);
        }
        if let Some(ms) = number(BACKOFF_VAR, 60_000)? {
            config.backoff = Duration::from_millis(ms);
        }
        config.debug = match var(LOG_VAR).map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(level) => match level.as_str() {
                "debug" | "trace" => true,
                "" | "off" | "error" | "warn" | "info" => false,
                _ => {
                    return Err(CloudError::Unavailable(format!(
                        "{LOG_VAR} must be debug (log every request and answer) or off, not {level:?}"
                    )));
                }
            },
        };
        config.check()?;
        Ok(config)
    }

    /// Refuses a region or endpoint that cannot make a URL.
    fn check(&mut self) -> Result<(), CloudError> {
        let region_ok = !self.region.is_empty()
            && self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !region_ok {
            return Err(CloudError::Unavailable(format!(
                "region {:?} is not a KakaoCloud region name (such as {DEFAULT_REGION})",
                self.region
            )));
        }
        let url = |what: &str, value: &mut String| {
            let trimmed = value.trim().trim_end_matches('/').to_string();
            if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
                return Err(CloudError::Unavailable(format!(
                    "{what} must be an http:// or https:// URL, not {}",
                    shown_url(&trimmed)
                )));
            }
            *value = trimmed;
            Ok(())
        };
        if let Some(endpoint) = &mut self.endpoint {
            url(ENDPOINT_VAR, endpoint)?;
        }
        for (name, value) in [
            ("iam", &mut self.hosts.iam),
            ("vpc", &mut self.hosts.vpc),
            ("network", &mut self.hosts.network),
            ("bcs", &mut self.hosts.bcs),
        ] {
            if let Some(value) = value {
                url(&format!("settings.backend.endpoints.{name}"), value)?;
            }
        }
        if self.endpoint.is_none() && self.region != DEFAULT_REGION {
            let missing: Vec<&str> = [
                ("vpc", &self.hosts.vpc),
                ("network", &self.hosts.network),
                ("bcs", &self.hosts.bcs),
            ]
            .into_iter()
            .filter(|(_, h)| h.is_none())
            .map(|(n, _)| n)
            .collect();
            if !missing.is_empty() {
                return Err(CloudError::Unavailable(format!(
                    "region {} has no documented service hosts (only {DEFAULT_REGION}'s are), and nicplan does not guess them: give {} in settings.backend.endpoints, or one base URL for every service in {ENDPOINT_VAR}",
                    self.region,
                    missing.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The base URL of a service: the one endpoint, else the user's host for it, else
    /// the documented host.
    fn base(&self, service: Service) -> String {
        let given = match service {
            Service::Iam => &self.hosts.iam,
            Service::Vpc => &self.hosts.vpc,
            Service::Network => &self.hosts.network,
            Service::Bcs => &self.hosts.bcs,
        };
        match (&self.endpoint, given, service) {
            (Some(endpoint), _, _) => endpoint.clone(),
            (None, Some(host), _) => host.clone(),
            (None, None, Service::Iam) => IAM_URL.to_string(),
            (None, None, service) => {
                format!("https://{}.{}.kakaocloud.com", service.host(), self.region)
            }
        }
    }
}

impl fmt::Debug for KakaoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KakaoConfig")
            .field("endpoint", &self.endpoint.as_deref().map(shown_url))
            .field("region", &self.region)
            .field("credential_id", &REDACTED)
            .field("credential_secret", &REDACTED)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// A URL for messages: any `user:password@` part is hidden.
/// A body for the debug log: at most [`LOGGED_BODY`] characters.
fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(LOGGED_BODY) {
        None => text.to_string(),
        Some((cut, _)) => format!(
            "{}... ({} more characters)",
            &text[..cut],
            text[cut..].chars().count()
        ),
    }
}

fn shown_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if !scheme.is_empty() => format!("{scheme}://{REDACTED}@{}", &rest[at + 1..]),
        Some(at) => format!("{REDACTED}@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// The platform's services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    Iam,
    Vpc,
    Network,
    Bcs,
}

impl Service {
    fn host(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Vpc => "vpc",
            Service::Network => "network",
            Service::Bcs => "bcs",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Service::Iam => "IAM",
            Service::Vpc => "VPC service",
            Service::Network => "Network service",
            Service::Bcs => "BCS service",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// One call to make.
struct Req {
    method: Method,
    service: Service,
    /// The path after `/api/v1` (or the whole path for IAM).
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Req {
    fn new(method: Method, service: Service, path: String) -> Req {
        Req {
            method,
            service,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    fn body(mut self, body: Value) -> Req {
        self.body = Some(body);
        self
    }

    fn what(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}

/// One HTTP answer, as read.
struct Raw {
    status: u16,
    text: String,
    retry_after: Option<Duration>,
    subject_token: Option<String>,
}

/// How a call ended.
enum Sent {
    /// The platform answered (perhaps after retries).
    Raw(Raw, u32),
    /// A create found the object it had made in an attempt whose answer was lost.
    Recovered(Value),
}

/// An API answer.
struct Answer {
    status: u16,
    body: Value,
    text: String,
    attempts: u32,
    /// Whether an earlier attempt may have taken effect although its answer was lost.
    after_ambiguity: bool,
}

/// What an API call came to.
enum Outcome {
    /// The platform's answer, success or not.
    Answered(Answer),
    /// A create whose earlier attempt lost its answer found the object it had made.
    Found(Value),
}

impl Answer {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Looks for the object an ambiguous create may have made: `Some` when found, `None` to
/// repeat the create, an error to give up.
type Recover<'a> = &'a dyn Fn() -> Result<Option<Value>, CloudError>;

/// The flavor list, both ways: name -> (ID, kind), ID -> name.
#[derive(Default)]
struct Flavors {
    id_by_name: BTreeMap<String, (String, String)>,
    name_by_id: BTreeMap<String, String>,
}

/// What a create came to: the platform's answer, or the object found after a lost one.
enum Created {
    /// The object of the create's answer (the write's own model).
    Answer(Value),
    /// The object as the list shows it (the read model).
    Found(Value),
}

/// A token and when to renew it: a few minutes before the `expires_at` its answer gave
/// (never, when the answer gave none; a 401 renews it then).
#[derive(Clone)]
struct Token {
    value: String,
    renew_at: Option<std::time::SystemTime>,
}

/// How long before its `expires_at` a token is renewed.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// The `X-Api-Version` the official tools send.
pub const API_VERSION: &str = "1.3.0";

/// The `kakaocloud` backend. Shareable between threads: the token and the flavor list
/// are cached behind locks.
pub struct KakaoCloud {
    config: KakaoConfig,
    agent: ureq::Agent,
    token: Mutex<Option<Token>>,
    flavors: Mutex<Option<Flavors>>,
    /// Numbers the exchanges in the debug log.
    exchanges: std::sync::atomic::AtomicU64,
    /// Where a repeated call is told; standard error until set.
    notices: Mutex<Option<super::Notices>>,
}

impl fmt::Debug for KakaoCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = guard(&self.token).is_some();
        f.debug_struct("KakaoCloud")
            .field("config", &self.config)
            .field("token", &if cached { REDACTED } else { "none" })
            .finish_non_exhaustive()
    }
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An ID as a path segment, percent-encoded so it cannot reach another path.
fn seg(id: &str) -> String {
    encode(id)
}

/// Whether a transport error happened before the request could reach the platform.
fn surely_not_sent(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::BadUri(_) => true,
        ureq::Error::Timeout(t) => {
            matches!(t, ureq::Timeout::Resolve | ureq::Timeout::Connect)
        }
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::ConnectionRefused,
        _ => false,
    }
}

/// The message of an error answer: the envelope's `code: message`, a 422's fields
/// and what is wrong with each, else a bare `message`, else the text.
fn platform_message(body: &Value, text: &str) -> String {
    if let Ok(envelope) = serde_json::from_value::<super::wire::ErrorEnvelope>(body.clone()) {
        return format!("{}: {}", envelope.error.code, envelope.error.message);
    }
    if let Ok(invalid) = serde_json::from_value::<super::wire::ValidationErrors>(body.clone())
        && let Some(detail) = invalid.detail.filter(|d| !d.is_empty())
    {
        let fields: Vec<String> = detail
            .iter()
            .map(super::wire::ValidationError::words)
            .collect();
        return format!("the body did not validate: {}", fields.join("; "));
    }
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string);
    message.unwrap_or_else(|| text.trim().chars().take(300).collect())
}

impl KakaoCloud {
    /// A backend with this configuration; nothing is called until the first use.
    pub fn new(config: KakaoConfig) -> KakaoCloud {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .user_agent(format!("nicplan/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        KakaoCloud {
            config,
            agent,
            token: Mutex::new(None),
            flavors: Mutex::new(None),
            exchanges: std::sync::atomic::AtomicU64::new(0),
            notices: Mutex::new(None),
        }
    }

    /// Tells `line`, with every credential and `token` redacted, where notices go.
    fn notice(&self, line: &str, token: Option<&str>) {
        let line: String = self
            .redact(line, token)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let notices = guard(&self.notices).clone();
        match notices {
            Some(notices) => notices(&line),
            None => eprintln!("{line}"),
        }
    }

    /// One line of the debug log, with every credential and `token` redacted.
    fn log(&self, line: &str, token: Option<&str>) {
        let line = self.redact(line, token);
        // Control characters from an answer would drive the terminal.
        let line: String = line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        eprintln!("debug: {line}");
    }

    /// The configuration.
    pub fn config(&self) -> &KakaoConfig {
        &self.config
    }

    /// `text` with the credential and `token` replaced.
    fn redact(&self, text: &str, token: Option<&str>) -> String {
        let mut out = text.to_string();
        let secrets = [
            Some(self.config.credential_secret.as_str()),
            Some(self.config.credential_id.as_str()),
            token,
        ];
        for secret in secrets.into_iter().flatten() {
            if secret.len() >= 4 {
                out = out.replace(secret, REDACTED);
            }
        }
        out
    }

    /// The cached token, if any (for scrubbing messages).
    fn current_token(&self) -> Option<String> {
        guard(&self.token).as_ref().map(|t| t.value.clone())
    }

    /// A random extra wait of up to a tenth of the backoff (at most 100 ms), so that
    /// clients throttled together do not come back in the same order every time and
    /// one of them meet the throttle on each try.
    fn jitter(&self, attempt: u32) -> Duration {
        use std::hash::{BuildHasher, Hasher};
        let most = (self.pause(attempt) / 10).min(Duration::from_millis(100));
        let nanos = u64::try_from(most.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Duration::from_nanos(random % (nanos + 1))
    }

    fn pause(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.config.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }

    /// One HTTP exchange; logged with `NICPLAN_LOG=debug`.
    fn exchange(&self, req: &Req, url: &str, token: Option<&str>) -> Result<Raw, ureq::Error> {
        if !self.config.debug {
            return self.exchange_once(req, url, token);
        }
        let n = self
            .exchanges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let body = req
            .body
            .as_ref()
            .map(|b| format!(" {}", shorten(&b.to_string())))
            .unwrap_or_default();
        let query: String = req
            .query
            .iter()
            .enumerate()
            .map(|(i, (k, v))| format!("{}{k}={}", if i == 0 { '?' } else { '&' }, encode(v)))
            .collect();
        let auth = if token.is_some() {
            " (X-Auth-Token: [redacted])"
        } else {
            ""
        };
        self.log(
            &format!(
                "kakaocloud #{n} > {} {}{query}{auth}{body}",
                req.method.as_str(),
                shown_url(url)
            ),
            token,
        );
        let started = std::time::Instant::now();
        let result = self.exchange_once(req, url, token);
        let ms = started.elapsed().as_millis();
        match &result {
            Ok(raw) => self.log(
                &format!(
                    "kakaocloud #{n} < {} after {ms} ms{}{}",
                    raw.status,
                    if raw.subject_token.is_some() {
                        " (X-Subject-Token: [redacted])"
                    } else {
                        ""
                    },
                    if raw.text.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", shorten(&raw.text))
                    }
                ),
                raw.subject_token.as_deref().or(token),
            ),
            Err(e) => self.log(
                &format!("kakaocloud #{n} < no answer after {ms} ms: {e}"),
                token,
            ),
        }
        result
    }

    fn exchange_once(&self, req: &Req, url: &str, token: Option<&str>) -> Result<Raw, ureq::Error> {
        let mut full = url.to_string();
        for (i, (k, v)) in req.query.iter().enumerate() {
            full.push(if i == 0 { '?' } else { '&' });
            full.push_str(k);
            full.push('=');
            full.push_str(&encode(v));
        }
        let mut builder = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(full)
            .header("Accept", "application/json");
        if let Some(token) = token {
            builder = builder
                .header("X-Auth-Token", token)
                .header("X-Api-Version", API_VERSION);
        }
        let mut response = match &req.body {
            Some(body) => {
                let bytes = serde_json::to_vec(body).map_err(|e| {
                    ureq::Error::Io(std::io::Error::other(format!("cannot encode body: {e}")))
                })?;
                let request = builder
                    .header("Content-Type", "application/json")
                    .body(bytes)
                    .map_err(ureq::Error::Http)?;
                self.agent.run(request)?
            }
            // Without a body, a POST or PUT would go chunked; an explicit empty body
            // sends `Content-Length: 0`, which every server reads the same way.
            None if matches!(req.method, Method::Post | Method::Put) => self
                .agent
                .run(builder.body(Vec::new()).map_err(ureq::Error::Http)?)?,
            None => self
                .agent
                .run(builder.body(()).map_err(ureq::Error::Http)?)?,
        };
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        };
        let retry_after = header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let subject_token = header("x-subject-token").filter(|t| !t.is_empty());
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .lossy_utf8(true)
            .read_to_string()?;
        Ok(Raw {
            status,
            text,
            retry_after,
            subject_token,
        })
    }

    /// Tells why attempt `attempt` (from 0) is repeated and when, then waits `pause`.
    fn retry_after(&self, why: &str, pause: Duration, attempt: u32, token: Option<&str>) {
        self.notice(
            &format!(
                "{why}; trying again in {} (attempt {} of {})",
                pause_words(pause),
                attempt + 2,
                self.config.max_retries + 1
            ),
            token,
        );
        std::thread::sleep(pause);
    }

    /// Sends `req`, repeating it on 429, 5xx and transport errors. `ambiguous` turns
    /// true when an attempt that changes something may have taken effect; before a
    /// repeat after that, `recover` looks for what it made.
    fn send(
        &self,
        req: &Req,
        token: Option<&str>,
        ambiguous: &mut bool,
        recover: Option<Recover<'_>>,
    ) -> Result<Sent, CloudError> {
        let base = self.config.base(req.service);
        let url = match req.service {
            Service::Iam => format!("{base}{}", req.path),
            _ => format!("{base}{API_PREFIX}{}", req.path),
        };
        let changes = req.method != Method::Get && req.service != Service::Iam;
        let mut attempt: u32 = 0;
        loop {
            if attempt > 0
                && *ambiguous
                && let Some(recover) = recover
                && let Some(found) = recover()?
            {
                return Ok(Sent::Recovered(found));
            }
            let last = attempt >= self.config.max_retries;
            match self.exchange(req, &url, token) {
                Ok(raw) if raw.status == 429 || raw.status >= 500 => {
                    if last {
                        return Ok(Sent::Raw(raw, attempt + 1));
                    }
                    if changes && !matches!(raw.status, 429 | 503) {
                        *ambiguous = true;
                    }
                    let pause = raw.retry_after.unwrap_or_else(|| self.pause(attempt))
                        + self.jitter(attempt);
                    let why = format!(
                        "KakaoCloud {} answered {} to {}",
                        req.service.label(),
                        raw.status,
                        req.what()
                    );
                    self.retry_after(&why, pause, attempt, token);
                }
                Ok(raw) => return Ok(Sent::Raw(raw, attempt + 1)),
                Err(e) => {
                    if changes && !surely_not_sent(&e) {
                        *ambiguous = true;
                    }
                    if last {
                        return Err(CloudError::Unavailable(self.redact(
                            &format!(
                                "cannot reach KakaoCloud {} at {} for {}: {e} (gave up after {} attempts)",
                                req.service.label(),
                                shown_url(&base),
                                req.what(),
                                attempt + 1
                            ),
                            token,
                        )));
                    }
                    let pause = self.pause(attempt);
                    let why = format!(
                        "cannot reach KakaoCloud {} for {}: {e}",
                        req.service.label(),
                        req.what()
                    );
                    self.retry_after(&why, pause, attempt, token);
                }
            }
            attempt += 1;
        }
    }

    /// Exchanges the application credential for a token.
    fn fetch_token(&self) -> Result<Token, CloudError> {
        let body = to_body(&iam::TokenRequest::application_credential(
            &self.config.credential_id,
            &self.config.credential_secret,
        ))?;
        let req = Req::new(Method::Post, Service::Iam, TOKEN_PATH.to_string()).body(body);
        let mut ambiguous = false;
        let Sent::Raw(raw, attempts) = self.send(&req, None, &mut ambiguous, None)? else {
            return Err(CloudError::Unavailable(
                "KakaoCloud IAM gave no answer to the token request".to_string(),
            ));
        };
        let body: Value = serde_json::from_str(&raw.text).unwrap_or(Value::Null);
        let message = self.redact(&platform_message(&body, &raw.text), None);
        match raw.status {
            200..=299 => {
                let value = raw.subject_token.ok_or_else(|| {
                    CloudError::Unavailable(
                        "KakaoCloud IAM answered the token request without an X-Subject-Token header"
                            .to_string(),
                    )
                })?;
                let answer: Option<iam::TokenAnswer> = serde_json::from_value(body).ok();
                let renew_at = answer
                    .and_then(|a| a.token.expires_at)
                    .as_deref()
                    .and_then(crate::state::parse_rfc3339)
                    .map(|secs| {
                        std::time::UNIX_EPOCH
                            + Duration::from_secs(secs).saturating_sub(RENEW_BEFORE)
                    });
                Ok(Token { value, renew_at })
            }
            401 | 403 => Err(CloudError::Rejected(format!(
                "KakaoCloud IAM refused the application credential (HTTP {}): check {ID_VAR} and {SECRET_VAR}",
                raw.status
            ))),
            400..=499 if raw.status != 429 => Err(CloudError::Rejected(format!(
                "KakaoCloud IAM refused the token request (HTTP {}): {message}",
                raw.status
            ))),
            status => Err(CloudError::Unavailable(format!(
                "KakaoCloud IAM answered HTTP {status} to the token request {attempts} times: {message}"
            ))),
        }
    }

    /// The cached token, fetched first when there is none or it is about to expire.
    fn token(&self) -> Result<String, CloudError> {
        let mut cached = guard(&self.token);
        if let Some(token) = cached.as_ref() {
            let due = token
                .renew_at
                .is_some_and(|at| std::time::SystemTime::now() >= at);
            if !due {
                return Ok(token.value.clone());
            }
        }
        let token = self.fetch_token()?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Drops `stale` from the cache, unless another thread renewed it already.
    fn forget_token(&self, stale: &str) {
        let mut cached = guard(&self.token);
        if cached.as_ref().is_some_and(|t| t.value == stale) {
            *cached = None;
        }
    }

    /// Makes an API call with the token, renewing it once on a 401.
    fn api(&self, req: &Req, recover: Option<Recover<'_>>) -> Result<Outcome, CloudError> {
        let mut ambiguous = false;
        let mut renewed = false;
        loop {
            let token = self.token()?;
            match self.send(req, Some(&token), &mut ambiguous, recover)? {
                Sent::Recovered(found) => return Ok(Outcome::Found(found)),
                Sent::Raw(raw, _) if raw.status == 401 && !renewed => {
                    self.forget_token(&token);
                    renewed = true;
                }
                Sent::Raw(raw, attempts) => {
                    let body = serde_json::from_str(&raw.text).unwrap_or(Value::Null);
                    return Ok(Outcome::Answered(Answer {
                        status: raw.status,
                        body,
                        text: raw.text,
                        attempts,
                        after_ambiguity: ambiguous,
                    }));
                }
            }
        }
    }

    /// The error for an answer that is not a success. `one` names the object the path
    /// reads or deletes, for a 404.
    fn failure(&self, req: &Req, answer: &Answer, one: Option<(&'static str, &str)>) -> CloudError {
        let token = self.current_token();
        let message = self.redact(
            &platform_message(&answer.body, &answer.text),
            token.as_deref(),
        );
        let status = answer.status;
        match (status, one) {
            (404, Some((kind, id))) => CloudError::NotFound {
                kind,
                id: id.to_string(),
            },
            (401, _) => CloudError::Rejected(format!(
                "KakaoCloud refused the token for {} even after renewing it (HTTP 401): {message}",
                req.what()
            )),
            (429 | 500..=599, _) => CloudError::Unavailable(format!(
                "KakaoCloud {} answered HTTP {status} to {} {} times; giving up: {message}",
                req.service.label(),
                req.what(),
                answer.attempts
            )),
            (400..=499, _) if message.is_empty() => {
                CloudError::Rejected(format!("KakaoCloud refused {} (HTTP {status})", req.what()))
            }
            (400..=499, _) => CloudError::Rejected(format!(
                "KakaoCloud refused {} (HTTP {status}) {message}",
                req.what()
            )),
            _ => CloudError::Unavailable(format!(
                "KakaoCloud {} answered {} with an unexpected HTTP {status}",
                req.service.label(),
                req.what()
            )),
        }
    }

    /// A call whose answer must be a success; its body.
    fn call(&self, req: Req, one: Option<(&'static str, &str)>) -> Result<Value, CloudError> {
        match self.api(&req, None)? {
            Outcome::Found(found) => Ok(found),
            Outcome::Answered(answer) if answer.ok() => Ok(answer.body),
            Outcome::Answered(answer) => Err(self.failure(&req, &answer, one)),
        }
    }

    /// A change that is not a create. When it is refused (with the status given to
    /// `settled`) after an attempt whose outcome was unknown, `settled` says whether the
    /// change is in place anyway.
    fn change(
        &self,
        req: Req,
        one: Option<(&'static str, &str)>,
        settled: impl Fn(u16) -> Result<bool, CloudError>,
    ) -> Result<Value, CloudError> {
        match self.api(&req, None)? {
            Outcome::Found(found) => Ok(found),
            Outcome::Answered(answer) if answer.ok() => Ok(answer.body),
            Outcome::Answered(answer)
                if answer.after_ambiguity
                    && (400..500).contains(&answer.status)
                    && settled(answer.status)? =>
            {
                Ok(Value::Null)
            }
            Outcome::Answered(answer) => Err(self.failure(&req, &answer, one)),
        }
    }

    /// A create of an object of a collection (`path`, listed under `plural`, answered
    /// under `singular`): the answer's object, or the object `recover` recognises in the
    /// list after an attempt whose answer was lost (a create nothing recognises is not
    /// repeated after such a loss, so it never makes a duplicate).
    fn create(
        &self,
        req: Req,
        plural: &str,
        singular: &str,
        recover: Option<&dyn Fn(&Value) -> bool>,
    ) -> Result<Created, CloudError> {
        let (service, path) = (req.service, req.path.clone());
        let find = || self.find_created(service, &path, plural, recover);
        match self.api(&req, Some(&find))? {
            Outcome::Found(found) => Ok(Created::Found(found)),
            Outcome::Answered(answer) if answer.ok() => answer
                .body
                .get(singular)
                .cloned()
                .map(Created::Answer)
                .ok_or_else(|| {
                    CloudError::Unavailable(format!(
                        "KakaoCloud answered {} without the {singular} it created",
                        req.what()
                    ))
                }),
            Outcome::Answered(answer) => Err(self.failure(&req, &answer, None)),
        }
    }

    /// The object of a collection a create made, after a create whose answer was lost.
    fn find_created(
        &self,
        service: Service,
        path: &str,
        plural: &str,
        recover: Option<&dyn Fn(&Value) -> bool>,
    ) -> Result<Option<Value>, CloudError> {
        let Some(ours) = recover else {
            return Err(CloudError::Unavailable(format!(
                "POST {path} failed in a way that leaves unknown whether the object was created; it was not repeated, to avoid a duplicate: run `nicplan refresh` and look"
            )));
        };
        let items = self.list_all(service, path, plural)?;
        Ok(items.into_iter().find(|item| ours(item)))
    }

    /// Every object of a collection, page by page.
    fn list_all(
        &self,
        service: Service,
        path: &str,
        plural: &str,
    ) -> Result<Vec<Value>, CloudError> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut offset = 0usize;
        for _ in 0..MAX_PAGES {
            let mut req = Req::new(Method::Get, service, path.to_string());
            req.query = vec![
                ("limit", PAGE_LIMIT.to_string()),
                ("offset", offset.to_string()),
            ];
            let body = self.call(req, None)?;
            let Some(Value::Array(page)) = body.get(plural) else {
                return Err(CloudError::Unavailable(format!(
                    "KakaoCloud answered GET {path} without a {plural} list"
                )));
            };
            let n = page.len();
            let total = body
                .pointer("/pagination/total")
                .and_then(Value::as_u64)
                .and_then(|t| usize::try_from(t).ok());
            let fresh = page.iter().fold(false, |fresh, item| {
                let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
                seen.insert(id.to_string()) || fresh
            });
            if n > 0 && !fresh {
                return Err(CloudError::Unavailable(format!(
                    "KakaoCloud answered GET {path} at offset {offset} with a page already read; paging does not advance"
                )));
            }
            out.extend(page.iter().cloned());
            offset += n;
            // Without a total, only an empty page ends the list: the platform may cap
            // `limit` below what was asked.
            let done = total.is_some_and(|total| offset >= total);
            if n == 0 || done {
                return Ok(out);
            }
        }
        Err(CloudError::Unavailable(format!(
            "KakaoCloud kept paging GET {path} past {MAX_PAGES} pages"
        )))
    }

    /// The flavor list, read once, on first need.
    fn with_flavors<T>(&self, f: impl Fn(&Flavors) -> Option<T>) -> Result<Option<T>, CloudError> {
        let mut cached = guard(&self.flavors);
        if let Some(flavors) = cached.as_ref() {
            return Ok(f(flavors));
        }
        let mut flavors = Flavors::default();
        for flavor in self.list_of::<bcs::Flavor>(Service::Bcs, "/flavors", "flavors")? {
            if let Some(name) = flavor.name {
                let kind = flavor.instance_type.unwrap_or_else(|| "vm".to_string());
                flavors
                    .id_by_name
                    .insert(name.clone(), (flavor.id.clone(), kind));
                flavors.name_by_id.insert(flavor.id, name);
            }
        }
        let found = f(&flavors);
        *cached = Some(flavors);
        Ok(found)
    }

    /// The ID and the kind (`vm`, `bm`, `gpu`) of the flavor named `name`.
    fn flavor(&self, name: &str) -> Result<(String, String), CloudError> {
        self.with_flavors(|f| f.id_by_name.get(name).cloned())?
            .ok_or_else(|| {
                CloudError::Rejected(format!(
                    "flavor {name} is not offered by KakaoCloud in region {} (GET /flavors does not list it)",
                    self.config.region
                ))
            })
    }

    /// Decodes an answer (or a list item) of `call` into its wire model.
    fn decode<T: DeserializeOwned>(&self, value: Value, call: &str) -> Result<T, CloudError> {
        serde_json::from_value(value).map_err(|e| {
            CloudError::Unavailable(format!(
                "KakaoCloud's answer to {call} does not fit the platform's model of it: {e}"
            ))
        })
    }

    /// Every object of a collection, decoded.
    fn list_of<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        plural: &str,
    ) -> Result<Vec<T>, CloudError> {
        let call = format!("GET {path}");
        self.list_all(service, path, plural)?
            .into_iter()
            .map(|item| self.decode(item, &call))
            .collect()
    }

    fn get_nic(&self, id: &str) -> Result<CloudNic, CloudError> {
        let path = format!("/network-interfaces/{}", seg(id));
        let req = Req::new(Method::Get, Service::Vpc, path.clone());
        let body = self.call(req, Some(("network interface", id)))?;
        let answer: vpc::NicAnswer = self.decode(body, &format!("GET {path}"))?;
        nic_of(&answer.inner)
    }

    fn get_public_ip(&self, id: &str) -> Result<CloudPublicIp, CloudError> {
        let path = format!("/public-ips/{}", seg(id));
        let req = Req::new(Method::Get, Service::Network, path.clone());
        let body = self.call(req, Some(("public IP", id)))?;
        let answer: network::PublicIpAnswer = self.decode(body, &format!("GET {path}"))?;
        public_ip_of(&answer.inner)
    }

    /// Writes the source/destination check as allowed address pairs: one pair
    /// `0.0.0.0/0` for off, the clearing form `[{"ip_address": null}]` for on.
    fn set_source_dest_check(&self, id: &str, check: bool) -> Result<(), CloudError> {
        let pair = vpc::EditAddressPair {
            ip_address: (!check).then(|| ANY_ADDRESS_PAIR.to_string()),
        };
        let path = format!("/network-interfaces/{}/allowed-address-pairs", seg(id));
        let req = Req::new(Method::Put, Service::Vpc, path.clone()).body(to_body(
            &vpc::EditAddressPairsBody {
                allowed_address_pairs: vec![pair],
            },
        )?);
        let body = self.call(req, Some(("network interface", id)))?;
        let _: vpc::NicWrittenAnswer = self.decode(body, &format!("PUT {path}"))?;
        Ok(())
    }

    /// An instance from its wire model, mapping a flavor shown by ID only to its name.
    fn instance_of(&self, w: &bcs::Instance) -> Result<CloudInstance, CloudError> {
        let flavor = w.flavor.clone();
        let flavor = match flavor.as_ref().map(|f| (f.name.clone(), f.id.clone())) {
            Some((Some(name), _)) if !name.is_empty() => name,
            Some((_, id)) => self
                .with_flavors(|f| f.name_by_id.get(&id).cloned())?
                .unwrap_or(id),
            None => String::new(),
        };
        let attached_nic_ids: Vec<String> = w
            .addresses
            .iter()
            .flatten()
            .filter_map(|a| a.network_interface_id.clone())
            .collect();
        Ok(CloudInstance {
            id: w.id.clone(),
            name: w.name.clone().unwrap_or_default(),
            description: w.description.clone().unwrap_or_default(),
            flavor,
            image: w.image.as_ref().map(|i| i.id.clone()).unwrap_or_default(),
            availability_zone: w.availability_zone.clone().unwrap_or_default(),
            status: status_from(w.status.as_deref().unwrap_or_default()),
            primary_nic_id: attached_nic_ids.first().cloned().unwrap_or_default(),
            attached_nic_ids,
        })
    }

    fn get_instance(&self, id: &str) -> Result<CloudInstance, CloudError> {
        let path = format!("/instances/{}", seg(id));
        let req = Req::new(Method::Get, Service::Bcs, path.clone());
        let body = self.call(req, Some(("instance", id)))?;
        let answer: bcs::InstanceAnswer = self.decode(body, &format!("GET {path}"))?;
        self.instance_of(&answer.inner)
    }

    fn delete(
        &self,
        service: Service,
        path: String,
        kind: &'static str,
        id: &str,
    ) -> Result<(), CloudError> {
        let req = Req::new(Method::Delete, service, path);
        // A repeat after a lost answer finds the object gone: that is the success.
        self.change(req, Some((kind, id)), |status| Ok(status == 404))
            .map(|_| ())
    }

    /// The IDs of a collection's objects now, for recognising afterwards one that a
    /// create whose answer was lost has made.
    fn ids_now(
        &self,
        service: Service,
        path: &str,
        plural: &str,
    ) -> Result<BTreeSet<String>, CloudError> {
        Ok(self
            .list_all(service, path, plural)?
            .iter()
            .filter_map(|item| item.get("id").and_then(Value::as_str).map(str::to_string))
            .collect())
    }
}

/// The body of an instance create around the NIC made beforehand: a VM boots from a
/// root volume made from its image; bare metal takes no volume, and bonds its NICs
/// when the file asks.
fn instance_body(
    request: &InstanceRequest,
    flavor_id: String,
    flavor_type: &str,
    subnet_id: &str,
) -> bcs::CreateInstanceBody {
    let bare_metal = flavor_type == "bm";
    let volumes = if bare_metal {
        Vec::new()
    } else {
        vec![bcs::Volume {
            is_delete_on_termination: Some(true),
            size: i64::from(request.root_volume_gb),
            source_type: Some("image".to_string()),
            uuid: Some(request.image.clone()),
            type_id: None,
            encryption_secret_id: None,
        }]
    };
    bcs::CreateInstanceBody {
        inner: bcs::CreateInstance {
            name: request.name.clone(),
            description: Some(request.description.clone()),
            count: None,
            image_id: request.image.clone(),
            flavor_id,
            availability_zone: None,
            subnets: vec![bcs::InstanceSubnet {
                id: subnet_id.to_string(),
                network_interface_id: Some(request.primary_nic_id.clone()),
                private_ip: None,
            }],
            volumes,
            key_name: None,
            // The NIC made beforehand carries its own groups; the platform's tools
            // refuse both together.
            security_groups: Vec::new(),
            user_data: None,
            is_disable_hyper_threading: None,
            is_bonding: (bare_metal && request.bonding).then_some(true),
        },
    }
}

/// A request body from its wire model.
fn to_body(model: &impl serde::Serialize) -> Result<Value, CloudError> {
    serde_json::to_value(model)
        .map_err(|e| CloudError::Unavailable(format!("cannot encode a request body: {e}")))
}

fn parse_net(what: &str, id: &str, text: Option<&str>) -> Result<Ipv4Net, CloudError> {
    text.and_then(|t| t.parse().ok()).ok_or_else(|| {
        CloudError::Unavailable(format!(
            "KakaoCloud returned {what} {id} without a readable IPv4 cidr_block ({text:?})"
        ))
    })
}

fn parse_ip(what: &str, id: &str, text: &str) -> Result<Ipv4Addr, CloudError> {
    text.parse().map_err(|_| {
        CloudError::Unavailable(format!(
            "KakaoCloud returned {what} {id} with an unreadable IPv4 address {text:?}"
        ))
    })
}

/// The platform's instance status as nicplan's.
fn status_from(text: &str) -> Status {
    match text.to_ascii_lowercase().as_str() {
        "active" => Status::Active,
        "stopped" | "shutoff" => Status::Stopped,
        "shelved_offloaded" => Status::ShelvedOffloaded,
        "error" => Status::Error,
        "stopping" | "powering-off" => Status::Stopping,
        "starting" | "powering-on" => Status::Starting,
        "resizing" | "resize" | "resize_prep" | "resize_migrating" | "resize_finish" => {
            Status::Resizing
        }
        "deleting" | "deleted" => Status::Deleting,
        _ => Status::Building,
    }
}

/// A public IP's status as the platform names it.
fn public_ip_status_from(text: Option<&str>, associated: bool) -> PublicIpStatus {
    match text.map(str::to_ascii_lowercase).as_deref() {
        Some("in_use") => PublicIpStatus::InUse,
        Some("attaching") => PublicIpStatus::Attaching,
        Some("available") => PublicIpStatus::Available,
        _ if associated => PublicIpStatus::InUse,
        _ => PublicIpStatus::Available,
    }
}

fn provisioning(text: Option<&str>) -> Provisioning {
    text.map_or(Provisioning::Active, Provisioning::parse)
}

fn vpc_of(w: &vpc::Vpc) -> Result<CloudVpc, CloudError> {
    Ok(CloudVpc {
        cidr_block: parse_net("VPC", &w.id, w.cidr_block.as_deref())?,
        id: w.id.clone(),
        name: w.name.clone().unwrap_or_default(),
        description: w.description.clone().unwrap_or_default(),
        status: provisioning(w.provisioning_status.as_deref()),
    })
}

fn vpc_created(w: &vpc::VpcCreated) -> Result<CloudVpc, CloudError> {
    Ok(CloudVpc {
        cidr_block: parse_net("VPC", &w.id, Some(&w.cidr_block))?,
        id: w.id.clone(),
        name: w.name.clone(),
        description: w.description.clone(),
        status: Provisioning::parse(&w.provisioning_status),
    })
}

fn subnet_of(w: &vpc::Subnet) -> Result<CloudSubnet, CloudError> {
    Ok(CloudSubnet {
        cidr_block: parse_net("subnet", &w.id, w.cidr_block.as_deref())?,
        id: w.id.clone(),
        name: w.name.clone().unwrap_or_default(),
        vpc_id: w.vpc_id.clone().unwrap_or_default(),
        availability_zone: w.availability_zone.clone().unwrap_or_default(),
        status: provisioning(w.provisioning_status.as_deref()),
    })
}

fn subnet_created(w: &vpc::SubnetCreated) -> Result<CloudSubnet, CloudError> {
    Ok(CloudSubnet {
        cidr_block: parse_net("subnet", &w.id, Some(&w.cidr_block))?,
        id: w.id.clone(),
        name: w.name.clone(),
        vpc_id: w.vpc_id.clone(),
        availability_zone: w.availability_zone.clone(),
        status: Provisioning::parse(&w.provisioning_status),
    })
}

fn group_of(w: &network::SecurityGroup) -> CloudSecurityGroup {
    CloudSecurityGroup {
        id: w.id.clone(),
        name: w.name.clone().unwrap_or_default(),
        description: w.description.clone().unwrap_or_default(),
    }
}

fn group_written(w: &network::SecurityGroupWritten) -> CloudSecurityGroup {
    CloudSecurityGroup {
        id: w.id.clone(),
        name: w.name.clone(),
        description: w.description.clone(),
    }
}

fn nic_of(w: &vpc::Nic) -> Result<CloudNic, CloudError> {
    let private_ip = parse_ip(
        "network interface",
        &w.id,
        w.private_ip.as_deref().unwrap_or_default(),
    )?;
    let secondary_ips = w
        .secondary_ips
        .iter()
        .flatten()
        .map(|ip| parse_ip("network interface", &w.id, ip))
        .collect::<Result<Vec<_>, _>>()?;
    let pairs = w.allowed_address_pairs.clone().unwrap_or_default();
    let device_id = w.device_id.clone().filter(|d| !d.is_empty());
    let attached = device_id.is_some();
    Ok(CloudNic {
        name: w.name.clone().unwrap_or_default(),
        description: w.description.clone().unwrap_or_default(),
        subnet_id: w.subnet_id.clone().unwrap_or_default(),
        private_ip,
        secondary_ips,
        security_group_ids: w
            .security_groups
            .iter()
            .flatten()
            .map(|g| g.id.clone())
            .collect(),
        source_dest_check: pairs.iter().all(|p| p.ip_address.is_none()),
        device_id,
        mac_address: w.mac_address.clone().unwrap_or_default(),
        // Kept only where it says other than the attachment does (an attach or a
        // detach under way): the same NIC reads the same from every backend.
        reported_status: w
            .status
            .as_deref()
            .and_then(NicStatus::parse)
            .filter(|s| *s != NicStatus::of_attached(attached)),
        id: w.id.clone(),
    })
}

fn public_ip_of(w: &network::PublicIp) -> Result<CloudPublicIp, CloudError> {
    let address = parse_ip(
        "public IP",
        &w.id,
        w.public_ip.as_deref().unwrap_or_default(),
    )?;
    let private_ip = w
        .private_ip
        .clone()
        .filter(|ip| !ip.is_empty())
        .map(|ip| parse_ip("public IP", &w.id, &ip))
        .transpose()?;
    let nic_id = w
        .related_resource
        .as_ref()
        .map(|r| r.id.clone())
        .filter(|n| !n.is_empty());
    Ok(CloudPublicIp {
        description: w.description.clone().unwrap_or_default(),
        address,
        status: public_ip_status_from(w.status.as_deref(), nic_id.is_some()),
        nic_id,
        private_ip,
        id: w.id.clone(),
    })
}

fn public_ip_written(w: &network::PublicIpWritten) -> Result<CloudPublicIp, CloudError> {
    Ok(CloudPublicIp {
        description: w.description.clone(),
        address: parse_ip("public IP", &w.id, &w.public_ip)?,
        status: public_ip_status_from(Some(&w.status), false),
        nic_id: None,
        private_ip: None,
        id: w.id.clone(),
    })
}

/// Refuses secondary IPs: the platform offers one IP per NIC.
fn refuse_secondary_ips(name: &str, ips: &[Ipv4Addr]) -> Result<(), CloudError> {
    if ips.is_empty() {
        return Ok(());
    }
    Err(CloudError::Rejected(format!(
        "network interface {name} asks for secondary private IPs, which KakaoCloud does not offer yet (one IP per network interface)"
    )))
}

/// A pause in words: `250 ms`, `1.5 s`.
fn pause_words(pause: Duration) -> String {
    if pause < Duration::from_secs(1) {
        format!("{} ms", pause.as_millis())
    } else {
        format!("{:.1} s", pause.as_secs_f64())
    }
}

impl Cloud for KakaoCloud {
    fn vpcs_like(&self, name: &str, cidr: Ipv4Net) -> Result<Vec<String>, CloudError> {
        let mut out = Vec::new();
        for w in self.list_of::<vpc::Vpc>(Service::Vpc, "/vpcs", "vpcs")? {
            let v = vpc_of(&w)?;
            if v.name == name && v.cidr_block == cidr {
                out.push(v.id);
            }
        }
        Ok(out)
    }

    fn subnets_like(
        &self,
        name: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<Vec<String>, CloudError> {
        let mut out = Vec::new();
        for w in self.list_of::<vpc::Subnet>(Service::Vpc, "/subnets", "subnets")? {
            let s = subnet_of(&w)?;
            if s.name == name
                && s.vpc_id == vpc_id
                && s.cidr_block == cidr
                && s.availability_zone == zone
            {
                out.push(s.id);
            }
        }
        Ok(out)
    }

    fn target(&self) -> String {
        let c = &self.config;
        match &c.endpoint {
            Some(endpoint) => format!("kakaocloud {}", shown_url(endpoint)),
            None => format!(
                "kakaocloud {} ({}, {}, {})",
                c.region,
                shown_url(&c.base(Service::Vpc)),
                shown_url(&c.base(Service::Network)),
                shown_url(&c.base(Service::Bcs)),
            ),
        }
    }

    fn set_notices(&self, notices: super::Notices) {
        *guard(&self.notices) = Some(notices);
    }

    fn name(&self) -> &'static str {
        "kakaocloud"
    }

    fn id_problem(&self, kind: crate::address::Kind, id: &str) -> Option<String> {
        (!super::is_platform_id(id)).then(|| {
            format!(
                "the platform's {} IDs are UUIDs, such as 3f2a9c1e-7b4d-4e21-9a3c-5d0e1f2a3b4c",
                kind.as_str().replace('_', " ")
            )
        })
    }

    fn multiple_ips(&self) -> bool {
        false
    }

    fn inventory(&self) -> Result<Inventory, CloudError> {
        // One token for the six readers: a refused credential fails once, not six times.
        self.token()?;
        let lists = std::thread::scope(|s| {
            let collections = [
                (Service::Vpc, "/vpcs", "vpcs"),
                (Service::Vpc, "/subnets", "subnets"),
                (Service::Network, "/security-groups", "security_groups"),
                (Service::Bcs, "/instances", "instances"),
                (Service::Vpc, "/network-interfaces", "network_interfaces"),
                (Service::Network, "/public-ips", "public_ips"),
            ];
            let handles: Vec<_> = collections
                .into_iter()
                .map(|(service, path, plural)| {
                    s.spawn(move || self.list_all(service, path, plural))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(CloudError::Unavailable(
                            "reading KakaoCloud failed unexpectedly".to_string(),
                        ))
                    })
                })
                .collect::<Result<Vec<Vec<Value>>, CloudError>>()
        })?;
        let [vpcs, subnets, groups, instances, nics, public_ips] =
            <[Vec<Value>; 6]>::try_from(lists).map_err(|_| {
                CloudError::Unavailable("reading KakaoCloud failed unexpectedly".to_string())
            })?;
        let mut inventory = Inventory::default();
        for v in vpcs {
            let vpc = vpc_of(&self.decode(v, "GET /vpcs")?)?;
            inventory.vpcs.insert(vpc.id.clone(), vpc);
        }
        for v in subnets {
            let subnet = subnet_of(&self.decode(v, "GET /subnets")?)?;
            inventory.subnets.insert(subnet.id.clone(), subnet);
        }
        for v in groups {
            let group = group_of(&self.decode(v, "GET /security-groups")?);
            inventory.security_groups.insert(group.id.clone(), group);
        }
        for v in instances {
            let instance = self.instance_of(&self.decode(v, "GET /instances")?)?;
            inventory.instances.insert(instance.id.clone(), instance);
        }
        for v in nics {
            let nic = nic_of(&self.decode(v, "GET /network-interfaces")?)?;
            inventory.nics.insert(nic.id.clone(), nic);
        }
        for v in public_ips {
            let public = public_ip_of(&self.decode(v, "GET /public-ips")?)?;
            inventory.public_ips.insert(public.id.clone(), public);
        }
        Ok(inventory)
    }

    fn instance(&self, id: &str) -> Result<CloudInstance, CloudError> {
        self.get_instance(id)
    }

    fn vpc(&self, id: &str) -> Result<CloudVpc, CloudError> {
        let path = format!("/vpcs/{}", seg(id));
        let req = Req::new(Method::Get, Service::Vpc, path.clone());
        let body = self.call(req, Some(("VPC", id)))?;
        let answer: vpc::VpcAnswer = self.decode(body, &format!("GET {path}"))?;
        vpc_of(&answer.inner)
    }

    fn subnet(&self, id: &str) -> Result<CloudSubnet, CloudError> {
        let path = format!("/subnets/{}", seg(id));
        let req = Req::new(Method::Get, Service::Vpc, path.clone());
        let body = self.call(req, Some(("subnet", id)))?;
        let answer: vpc::SubnetAnswer = self.decode(body, &format!("GET {path}"))?;
        subnet_of(&answer.inner)
    }

    fn security_group(&self, id: &str) -> Result<CloudSecurityGroup, CloudError> {
        let path = format!("/security-groups/{}", seg(id));
        let req = Req::new(Method::Get, Service::Network, path.clone());
        let body = self.call(req, Some(("security group", id)))?;
        let answer: network::SecurityGroupAnswer = self.decode(body, &format!("GET {path}"))?;
        Ok(group_of(&answer.inner))
    }

    fn nic(&self, id: &str) -> Result<CloudNic, CloudError> {
        self.get_nic(id)
    }

    fn public_ip(&self, id: &str) -> Result<CloudPublicIp, CloudError> {
        self.get_public_ip(id)
    }

    fn stop_instance(&self, id: &str) -> Result<(), CloudError> {
        let req = Req::new(
            Method::Post,
            Service::Bcs,
            format!("/instances/{}/stop", seg(id)),
        );
        // A repeat after a lost answer may find it stopping or stopped already.
        self.change(req, Some(("instance", id)), |_| {
            Ok(matches!(
                self.get_instance(id)?.status,
                Status::Stopping | Status::Stopped
            ))
        })
        .map(|_| ())
    }

    fn start_instance(&self, id: &str) -> Result<(), CloudError> {
        let req = Req::new(
            Method::Post,
            Service::Bcs,
            format!("/instances/{}/start", seg(id)),
        );
        self.change(req, Some(("instance", id)), |_| {
            Ok(matches!(
                self.get_instance(id)?.status,
                Status::Starting | Status::Active
            ))
        })
        .map(|_| ())
    }

    fn create_vpc(&self, name: &str, cidr: Ipv4Net) -> Result<CloudVpc, CloudError> {
        // A VPC takes no description, so no marker: after a lost answer, the VPC this
        // call made is the one with its name and block that was not there before.
        let before = self.ids_now(Service::Vpc, "/vpcs", "vpcs")?;
        let cidr_text = cidr.to_string();
        let body = to_body(&vpc::CreateVpcBody {
            inner: vpc::CreateVpc {
                name: name.to_string(),
                cidr_block: cidr_text.clone(),
                subnet: None,
            },
        })?;
        let req = Req::new(Method::Post, Service::Vpc, "/vpcs".to_string()).body(body);
        let ours = |item: &Value| {
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
            !before.contains(id)
                && item.get("name").and_then(Value::as_str) == Some(name)
                && item.get("cidr_block").and_then(Value::as_str) == Some(cidr_text.as_str())
        };
        match self.create(req, "vpcs", "vpc", Some(&ours))? {
            Created::Answer(v) => vpc_created(&self.decode::<vpc::VpcCreated>(v, "POST /vpcs")?),
            Created::Found(v) => vpc_of(&self.decode::<vpc::Vpc>(v, "GET /vpcs")?),
        }
    }

    fn delete_vpc(&self, id: &str) -> Result<(), CloudError> {
        self.delete(Service::Vpc, format!("/vpcs/{}", seg(id)), "VPC", id)
    }

    fn create_subnet(
        &self,
        name: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<CloudSubnet, CloudError> {
        // Subnets have no description: recognised by name, block, zone and VPC.
        let before = self.ids_now(Service::Vpc, "/subnets", "subnets")?;
        let cidr_text = cidr.to_string();
        let body = to_body(&vpc::CreateSubnetBody {
            inner: vpc::CreateSubnet {
                name: name.to_string(),
                vpc_id: vpc_id.to_string(),
                cidr_block: cidr_text.clone(),
                availability_zone: zone.to_string(),
            },
        })?;
        let req = Req::new(Method::Post, Service::Vpc, "/subnets".to_string()).body(body);
        let ours = |item: &Value| {
            let text = |k: &str| item.get(k).and_then(Value::as_str);
            !before.contains(text("id").unwrap_or_default())
                && text("name") == Some(name)
                && text("cidr_block") == Some(cidr_text.as_str())
                && text("availability_zone") == Some(zone)
                && text("vpc_id") == Some(vpc_id)
        };
        match self.create(req, "subnets", "subnet", Some(&ours))? {
            Created::Answer(v) => {
                subnet_created(&self.decode::<vpc::SubnetCreated>(v, "POST /subnets")?)
            }
            Created::Found(v) => subnet_of(&self.decode::<vpc::Subnet>(v, "GET /subnets")?),
        }
    }

    fn delete_subnet(&self, id: &str) -> Result<(), CloudError> {
        self.delete(Service::Vpc, format!("/subnets/{}", seg(id)), "subnet", id)
    }

    fn create_security_group(
        &self,
        name: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        let body = to_body(&network::CreateSecurityGroupBody {
            inner: network::CreateSecurityGroup {
                name: name.to_string(),
                description: Some(description.to_string()),
            },
        })?;
        let req = Req::new(
            Method::Post,
            Service::Network,
            "/security-groups".to_string(),
        )
        .body(body);
        let marked = by_description(description);
        match self.create(req, "security_groups", "security_group", marked.as_deref())? {
            Created::Answer(v) => Ok(group_written(
                &self.decode::<network::SecurityGroupWritten>(v, "POST /security-groups")?,
            )),
            Created::Found(v) => Ok(group_of(
                &self.decode::<network::SecurityGroup>(v, "GET /security-groups")?,
            )),
        }
    }

    fn update_security_group(
        &self,
        id: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        let path = format!("/security-groups/{}", seg(id));
        let body = to_body(&network::EditSecurityGroupBody {
            inner: network::EditSecurityGroup {
                name: None,
                description: Some(description.to_string()),
            },
        })?;
        let req = Req::new(Method::Put, Service::Network, path.clone()).body(body);
        let answer = self.call(req, Some(("security group", id)))?;
        let written: network::SecurityGroupWrittenAnswer =
            self.decode(answer, &format!("PUT {path}"))?;
        Ok(group_written(&written.inner))
    }

    fn delete_security_group(&self, id: &str) -> Result<(), CloudError> {
        self.delete(
            Service::Network,
            format!("/security-groups/{}", seg(id)),
            "security group",
            id,
        )
    }

    fn create_nic(&self, request: &NicRequest) -> Result<CloudNic, CloudError> {
        refuse_secondary_ips(&request.name, &request.secondary_ips)?;
        let body = to_body(&vpc::CreateNicBody {
            inner: vpc::CreateNic {
                name: request.name.clone(),
                description: Some(request.description.clone()),
                private_ip: request.private_ip.map(|ip| ip.to_string()),
                subnet_id: request.subnet_id.clone(),
                security_groups: request.security_group_ids.clone(),
            },
        })?;
        let req = Req::new(
            Method::Post,
            Service::Vpc,
            "/network-interfaces".to_string(),
        )
        .body(body);
        let marked = by_description(&request.description);
        let id = match self.create(
            req,
            "network_interfaces",
            "network_interface",
            marked.as_deref(),
        )? {
            // The answer is thin (no subnet, groups as IDs): the NIC is read back below.
            Created::Answer(v) => {
                self.decode::<vpc::NicWritten>(v, "POST /network-interfaces")?
                    .id
            }
            Created::Found(v) => self.decode::<vpc::Nic>(v, "GET /network-interfaces")?.id,
        };
        if !request.source_dest_check {
            self.set_source_dest_check(&id, false)?;
        }
        self.get_nic(&id)
    }

    fn update_nic(&self, id: &str, update: &NicUpdate) -> Result<CloudNic, CloudError> {
        refuse_secondary_ips(id, &update.secondary_ips)?;
        let path = format!("/network-interfaces/{}", seg(id));
        let body = to_body(&vpc::EditNicBody {
            inner: vpc::EditNic {
                name: None,
                description: Some(update.description.clone()),
                security_groups: Some(update.security_group_ids.clone()),
            },
        })?;
        let req = Req::new(Method::Put, Service::Vpc, path.clone()).body(body);
        let answer = self.call(req, Some(("network interface", id)))?;
        let _: vpc::NicWrittenAnswer = self.decode(answer, &format!("PUT {path}"))?;
        // The answer is thin: read the NIC back for its pairs.
        let nic = self.get_nic(id)?;
        if nic.source_dest_check != update.source_dest_check {
            self.set_source_dest_check(id, update.source_dest_check)?;
            return self.get_nic(id);
        }
        Ok(nic)
    }

    fn delete_nic(&self, id: &str) -> Result<(), CloudError> {
        self.delete(
            Service::Vpc,
            format!("/network-interfaces/{}", seg(id)),
            "network interface",
            id,
        )
    }

    fn create_instance(&self, request: &InstanceRequest) -> Result<CloudInstance, CloudError> {
        let (flavor_id, flavor_type) = self.flavor(&request.flavor)?;
        let nic = self.get_nic(&request.primary_nic_id)?;
        let body = to_body(&instance_body(
            request,
            flavor_id,
            &flavor_type,
            &nic.subnet_id,
        ))?;
        let req = Req::new(Method::Post, Service::Bcs, "/instances".to_string()).body(body);
        let marked = by_description(&request.description);
        let id = match self.create(req, "instances", "instance", marked.as_deref())? {
            // The answer holds only the ID: the instance is read back below.
            Created::Answer(v) => {
                self.decode::<bcs::InstanceCreated>(v, "POST /instances")?
                    .id
            }
            Created::Found(v) => self.decode::<bcs::Instance>(v, "GET /instances")?.id,
        };
        self.get_instance(&id)
    }

    fn resize_instance(&self, id: &str, flavor: &str) -> Result<CloudInstance, CloudError> {
        let (flavor_id, _) = self.flavor(flavor)?;
        let body = to_body(&bcs::ResizeBody {
            flavor: bcs::FlavorRef { id: flavor_id },
        })?;
        let req = Req::new(
            Method::Post,
            Service::Bcs,
            format!("/instances/{}/resize", seg(id)),
        )
        .body(body);
        // Its answer has no documented shape and is not read. A repeat after a lost
        // answer finds the resize under way or done.
        self.change(req, Some(("instance", id)), |_| {
            let now = self.get_instance(id)?;
            Ok(now.status == Status::Resizing || now.flavor == flavor)
        })?;
        self.get_instance(id)
    }

    fn delete_instance(&self, id: &str) -> Result<(), CloudError> {
        self.delete(
            Service::Bcs,
            format!("/instances/{}", seg(id)),
            "instance",
            id,
        )
    }

    fn attach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        let path = format!(
            "/instances/{}/network-interfaces/{}",
            seg(instance_id),
            seg(nic_id)
        );
        let req = Req::new(Method::Post, Service::Bcs, path.clone());
        let answer = self.change(req, None, |_| {
            Ok(self.get_nic(nic_id)?.device_id.as_deref() == Some(instance_id))
        })?;
        if !answer.is_null() {
            let _: bcs::NicAttachedAnswer = self.decode(answer, &format!("POST {path}"))?;
        }
        Ok(())
    }

    fn detach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        let req = Req::new(
            Method::Delete,
            Service::Bcs,
            format!(
                "/instances/{}/network-interfaces/{}",
                seg(instance_id),
                seg(nic_id)
            ),
        );
        self.change(req, None, |_| {
            Ok(self.get_nic(nic_id)?.device_id.as_deref() != Some(instance_id))
        })
        .map(|_| ())
    }

    fn create_public_ip(&self, description: &str) -> Result<CloudPublicIp, CloudError> {
        let body = to_body(&network::CreatePublicIpBody {
            inner: network::CreatePublicIp {
                description: Some(description.to_string()),
            },
        })?;
        let req = Req::new(Method::Post, Service::Network, "/public-ips".to_string()).body(body);
        let marked = by_description(description);
        match self.create(req, "public_ips", "public_ip", marked.as_deref())? {
            Created::Answer(v) => {
                public_ip_written(&self.decode::<network::PublicIpWritten>(v, "POST /public-ips")?)
            }
            Created::Found(v) => {
                public_ip_of(&self.decode::<network::PublicIp>(v, "GET /public-ips")?)
            }
        }
    }

    fn associate_public_ip(
        &self,
        id: &str,
        nic_id: &str,
        private_ip: Option<Ipv4Addr>,
    ) -> Result<CloudPublicIp, CloudError> {
        // The call takes no body: it maps the NIC's primary IP, the only one a NIC has
        // on this platform.
        if let Some(ip) = private_ip {
            let nic = self.get_nic(nic_id)?;
            if nic.private_ip != ip {
                return Err(CloudError::Rejected(format!(
                    "public IP {id} would map to {ip}, but KakaoCloud maps a public IP to a network interface's primary IP ({} of {nic_id})",
                    nic.private_ip
                )));
            }
        }
        let path = format!("/public-ips/{}/network-interfaces/{}", seg(id), seg(nic_id));
        let req = Req::new(Method::Put, Service::Network, path.clone());
        let answer = self.change(req, None, |_| {
            Ok(self.get_public_ip(id)?.nic_id.as_deref() == Some(nic_id))
        })?;
        if !answer.is_null() {
            let _: network::PublicIpWrittenAnswer = self.decode(answer, &format!("PUT {path}"))?;
        }
        // The answer has no related resource, and may not have the private IP yet.
        self.get_public_ip(id)
    }

    fn disassociate_public_ip(&self, id: &str, nic_id: &str) -> Result<(), CloudError> {
        let path = format!("/public-ips/{}/network-interfaces/{}", seg(id), seg(nic_id));
        let req = Req::new(Method::Delete, Service::Network, path.clone());
        let answer = self.change(req, None, |_| {
            Ok(self.get_public_ip(id)?.nic_id.as_deref() != Some(nic_id))
        })?;
        if !answer.is_null() {
            let _: network::PublicIpWrittenAnswer =
                self.decode(answer, &format!("DELETE {path}"))?;
        }
        Ok(())
    }

    fn delete_public_ip(&self, id: &str) -> Result<(), CloudError> {
        self.delete(
            Service::Network,
            format!("/public-ips/{}", seg(id)),
            "public IP",
            id,
        )
    }
}

/// How a create recognises its object in a list after a lost answer.
type Recognise<'a> = Box<dyn Fn(&Value) -> bool + 'a>;

/// How a create recognises its object after a lost answer: by the exact description
/// it sent, when that carries nicplan's marker (which makes it unique).
fn by_description(description: &str) -> Option<Recognise<'_>> {
    description.contains("[nicplan:").then(|| {
        Box::new(move |item: &Value| {
            item.get("description").and_then(Value::as_str) == Some(description)
        }) as Recognise<'_>
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Endpoints;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_environment_gives_the_credential_and_the_endpoint() {
        let config = KakaoConfig::from_vars(
            None,
            &Endpoints::default(),
            vars(&[
                (ID_VAR, "id-1234"),
                (SECRET_VAR, "secret-5678"),
                (ENDPOINT_VAR, "http://127.0.0.1:9/"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.region, DEFAULT_REGION);
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(config.base(Service::Bcs), "http://127.0.0.1:9");
        let config = KakaoConfig::from_vars(
            None,
            &Endpoints::default(),
            vars(&[(ID_VAR, "id-1234"), (SECRET_VAR, "secret-5678")]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.base(Service::Vpc),
            "https://vpc.kr-central-2.kakaocloud.com"
        );
        assert_eq!(config.base(Service::Iam), IAM_URL);
        // Another region's hosts are not documented: they are never guessed.
        let e = KakaoConfig::from_vars(
            Some("kr-central-1"),
            &Endpoints::default(),
            vars(&[(ID_VAR, "id-1234"), (SECRET_VAR, "secret-5678")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            e.contains("region kr-central-1 has no documented service hosts")
                && e.contains("give vpc, network, bcs in settings.backend.endpoints"),
            "{e}"
        );
        let hosts = Endpoints {
            vpc: Some("https://vpc.example.net/".to_string()),
            network: Some("https://network.example.net".to_string()),
            bcs: Some("https://bcs.example.net".to_string()),
            iam: None,
        };
        let config = KakaoConfig::from_vars(
            Some("kr-central-1"),
            &hosts,
            vars(&[(ID_VAR, "id-1234"), (SECRET_VAR, "secret-5678")]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.base(Service::Vpc), "https://vpc.example.net");
        assert_eq!(config.base(Service::Iam), IAM_URL);
    }

    #[test]
    fn a_missing_variable_is_named() {
        let e = KakaoConfig::from_vars(
            None,
            &Endpoints::default(),
            vars(&[(SECRET_VAR, "secret-5678")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains(ID_VAR), "{e}");
        let e = KakaoConfig::from_vars(
            None,
            &Endpoints::default(),
            vars(&[(ID_VAR, "id-1234"), (SECRET_VAR, " ")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.starts_with(SECRET_VAR), "{e}");
        assert!(!e.contains("id-1234"), "{e}");
        let e = KakaoConfig::from_vars(
            Some("kr central/2"),
            &Endpoints::default(),
            vars(&[(ID_VAR, "id-1234"), (SECRET_VAR, "secret-5678")]),
        );
        assert!(e.is_err());
        let e = KakaoConfig::from_vars(
            None,
            &Endpoints::default(),
            vars(&[
                (ID_VAR, "id-1234"),
                (SECRET_VAR, "secret-5678"),
                (ENDPOINT_VAR, "ftp://u:p@host"),
            ]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains(ENDPOINT_VAR) && !e.contains("u:p"), "{e}");
    }

    #[test]
    fn a_vm_boots_from_a_root_volume_and_bare_metal_takes_none_but_may_bond() {
        let mut request = InstanceRequest {
            name: "db-1".to_string(),
            description: "[nicplan:L/instance.db-1]".to_string(),
            flavor: "m2a.large".to_string(),
            image: "image-7".to_string(),
            primary_nic_id: "nic-1".to_string(),
            root_volume_gb: 80,
            bonding: true,
        };
        let vm = serde_json::to_value(instance_body(&request, "f-vm".into(), "vm", "sub-1"))
            .expect("encodes");
        assert_eq!(
            vm["instance"]["volumes"],
            serde_json::json!([{"is_delete_on_termination": true, "size": 80, "source_type": "image", "uuid": "image-7"}])
        );
        // A VM never bonds, whatever it is asked.
        assert!(vm["instance"].get("is_bonding").is_none(), "{vm}");
        assert_eq!(
            vm["instance"]["subnets"],
            serde_json::json!([{"id": "sub-1", "network_interface_id": "nic-1"}])
        );
        assert_eq!(vm["instance"]["security_groups"], serde_json::json!([]));
        let bm = serde_json::to_value(instance_body(&request, "f-bm".into(), "bm", "sub-1"))
            .expect("encodes");
        assert_eq!(bm["instance"]["volumes"], serde_json::json!([]));
        assert_eq!(bm["instance"]["is_bonding"], serde_json::json!(true));
        request.bonding = false;
        let plain = serde_json::to_value(instance_body(&request, "f-bm".into(), "bm", "sub-1"))
            .expect("encodes");
        assert!(plain["instance"].get("is_bonding").is_none(), "{plain}");
    }

    #[test]
    fn retries_and_backoff_come_from_the_environment_within_bounds() {
        let creds = [(ID_VAR, "id-1234"), (SECRET_VAR, "secret-5678")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = creds.to_vec();
            all.extend_from_slice(extra);
            KakaoConfig::from_vars(None, &Endpoints::default(), vars(&all))
        };
        let default = with(&[]).expect("config");
        assert_eq!((default.max_retries, default.backoff.as_millis()), (5, 500));
        let tuned = with(&[(RETRIES_VAR, "12"), (BACKOFF_VAR, " 20 ")]).expect("config");
        assert_eq!((tuned.max_retries, tuned.backoff.as_millis()), (12, 20));
        for (name, text) in [
            (RETRIES_VAR, "many"),
            (RETRIES_VAR, "101"),
            (BACKOFF_VAR, "-1"),
        ] {
            let e = with(&[(name, text)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(name) && e.contains(text), "{e}");
        }
    }

    #[test]
    fn debug_output_shows_no_credential() {
        let mut config = KakaoConfig::new("id-1234", "secret-5678");
        config.endpoint = Some("https://user:pw@example.com/x".to_string());
        let shown = format!("{config:?}");
        assert!(!shown.contains("id-1234"), "{shown}");
        assert!(!shown.contains("secret-5678"), "{shown}");
        assert!(!shown.contains("user:pw"), "{shown}");
        let cloud = KakaoCloud::new(config);
        *guard(&cloud.token) = Some(Token {
            value: "tok-abcdef".to_string(),
            renew_at: None,
        });
        let shown = format!("{cloud:?}");
        assert!(
            !shown.contains("tok-abcdef") && !shown.contains("secret-5678"),
            "{shown}"
        );
    }

    #[test]
    fn messages_are_scrubbed() {
        let cloud = KakaoCloud::new(KakaoConfig::new("id-1234", "secret-5678"));
        let text = cloud.redact("x secret-5678 id-1234 tok-abcdef", Some("tok-abcdef"));
        assert_eq!(text, "x [redacted] [redacted] [redacted]");
    }

    #[test]
    fn statuses_and_pairs_read_as_nicplan_means_them() {
        assert_eq!(status_from("ACTIVE"), Status::Active);
        assert_eq!(status_from("shutoff"), Status::Stopped);
        assert_eq!(status_from("resizing"), Status::Resizing);
        assert_eq!(status_from("stopping"), Status::Stopping);
        assert_eq!(status_from("rebuilding"), Status::Building);
        assert_eq!(
            public_ip_status_from(Some("attaching"), true),
            PublicIpStatus::Attaching
        );
        assert_eq!(public_ip_status_from(None, true), PublicIpStatus::InUse);
        let read = |v: serde_json::Value| {
            serde_json::from_value::<vpc::Nic>(v).unwrap_or_else(|e| panic!("{e}"))
        };
        let nic = read(serde_json::json!({"id": "n", "private_ip": "10.0.0.5",
            "allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}], "device_id": ""}));
        let nic = nic_of(&nic).unwrap_or_else(|e| panic!("{e}"));
        assert!(!nic.source_dest_check);
        assert_eq!(nic.device_id, None);
        let cleared = read(serde_json::json!({"id": "n", "private_ip": "10.0.0.5",
            "allowed_address_pairs": [{"ip_address": null}]}));
        assert!(nic_of(&cleared).is_ok_and(|n| n.source_dest_check));
        let broken = read(serde_json::json!({"id": "n", "private_ip": "bad"}));
        assert!(nic_of(&broken).is_err());
    }

    #[test]
    fn urls_hide_user_info() {
        assert_eq!(shown_url("https://a:b@h/p"), "https://[redacted]@h/p");
        assert_eq!(shown_url("http://h:1/p@x"), "http://h:1/p@x");
    }
}
