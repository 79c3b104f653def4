//! The simulator's HTTP face (`nicplan sim serve`): KakaoCloud's REST API, as described
//! in `domain/kakaocloud-api.md`, served on one host over a [`Sim`], so the `kakaocloud`
//! backend can be tested end to end on loopback.
//!
//! Its job is translation only. Every route reads or calls the simulator through the
//! [`Cloud`] trait, and the simulator enforces the platform's rules; the server checks
//! only what it needs to translate (the shape of a body, that a path names a known
//! flavor, that an instance's `subnets` entry agrees with its NIC).
//!
//! What it speaks:
//! - `POST /identity/v3/auth/tokens` takes the application credential of the doc and
//!   answers 201 with a fresh token in `X-Subject-Token`; a wrong credential is 401.
//! - Every path of the three services under `/api/v1` (VPC: `vpcs`, `subnets`,
//!   `network-interfaces`; Network: `security-groups`, `public-ips`; BCS: `instances`,
//!   `flavors`). Each needs `X-Auth-Token` with a token this server issued (401
//!   otherwise).
//! - Objects come wrapped in their singular name (`{"network_interface": {...}}`), lists
//!   as `{"<plural>": [...], "pagination": {"total", "offset", "limit"}}` with `limit`
//!   (default 20, at most 1000), `offset`, `sort_keys`/`sort_dirs` over one top-level
//!   field, and any other query parameter as an equality filter on the top-level field
//!   of that name. Lists are ordered by ID unless sorted otherwise.
//! - Errors are `{"error": {"code", "message"}}`. A refusal of the simulator
//!   ([`CloudError::Rejected`]) is 400 when the request asks for something invalid in
//!   itself (creates and updates) and 409 when it conflicts with the objects it acts on
//!   (deletes, attach/detach, resize, associate/disassociate); an unknown ID
//!   ([`CloudError::NotFound`]) is 404; a broken simulator file is 503. Bodies above
//!   1 MiB get 413, unknown paths 404, a known path with another method 405, anything
//!   malformed 400. A panic while answering (there should be none) is caught and
//!   answered 500; the server keeps serving.
//! - Every answer carries `Connection: close`: tiny_http gives each open connection a
//!   pooled thread and, when several connections open at once, can leave one waiting
//!   until another closes (seconds with idle keep-alive clients). The body of every
//!   request is read before it is answered, faults included, so an unread chunked body
//!   never garbles the connection.
//!
//! Decisions where the doc is silent (the `kakaocloud` backend sends the same):
//! - Flavor IDs are `flavor-FAMILY-SIZE` (`flavor-m2a-large`), listed by `GET /flavors`
//!   from the instance catalogue; `flavor_id` (create) and `{"flavor": {"id"}}` (resize)
//!   take those IDs, never names. An instance shows `flavor: {id, name, ...}`.
//! - Images are not modelled: `image_id` is kept as given and shown as
//!   `image: {id, name}` with both set to it.
//! - `POST /instances` creates the instance around an existing NIC: `subnets` must hold
//!   exactly one entry with `network_interface_id`, whose `id` is that NIC's subnet;
//!   `security_groups`, `volumes` and `key_name` are accepted and ignored (the NIC
//!   carries its own security groups). An instance's `addresses` list its primary NIC
//!   first.
//! - `source_dest_check: false` is one allowed address pair `0.0.0.0/0`; `true` is none.
//!   `PUT .../allowed-address-pairs` accepts exactly those two forms.
//! - Renaming (a `name` that differs from the current one in a `PUT`) is refused with
//!   400: the simulator keeps names fixed.
//! - `PUT /public-ips/{id}/network-interfaces/{nic_id}` takes an optional body
//!   `{"private_ip": "..."}`; without it the NIC's primary IP is used.
//! - Faults: `fail_every: N` answers every Nth API request 503 and `throttle_every: M`
//!   every Mth 429 with `Retry-After: 0`, counted over `/api/v1` requests only and
//!   before the token is checked; when both hit the same request it is a 503. A faulted
//!   request never reaches the simulator.
//!
//! Invariants: the server never changes the simulator except through one [`Cloud`] call
//! per request (two reads aside), so a refused request changes nothing; tokens and the
//! credential never appear in a response or in `Debug` output.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use ipnet::Ipv4Net;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::sim::Sim;
use super::{
    Cloud, CloudError, CloudInstance, CloudNic, CloudPublicIp, CloudSecurityGroup, CloudSubnet,
    CloudVpc, InstanceRequest, Inventory, NicRequest, NicUpdate,
};
use crate::catalogue::{self, InstanceType};

/// The largest request body accepted; larger ones get 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// Where tokens are issued.
pub const TOKEN_PATH: &str = "/identity/v3/auth/tokens";

/// The prefix of every API path.
pub const API_PREFIX: &str = "/api/v1";

/// How much of a refused chunked body is read and dropped at most.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Items per page when a list gives no `limit`.
const DEFAULT_LIMIT: usize = 20;

/// The largest `limit` a list accepts.
const MAX_LIMIT: usize = 1000;

/// How long the serving thread waits for a request before it looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// The allowed address pair that stands for `source_dest_check: false`.
pub const ANY_ADDRESS_PAIR: &str = "0.0.0.0/0";

/// How `sim serve` behaves: the credential it accepts, and injected latency and faults.
#[derive(Clone)]
pub struct ServeOptions {
    /// The application credential ID the token endpoint accepts.
    pub credential_id: String,
    /// Its secret.
    pub credential_secret: String,
    /// A pause before every answer.
    pub latency: Duration,
    /// Every Nth API request answers 503 (`None` or `Some(0)`: never).
    pub fail_every: Option<u32>,
    /// Every Nth API request answers 429 with `Retry-After: 0` (`None` or `Some(0)`:
    /// never).
    pub throttle_every: Option<u32>,
}

impl ServeOptions {
    /// Options accepting this credential, without latency or faults.
    pub fn new(credential_id: impl Into<String>, credential_secret: impl Into<String>) -> Self {
        ServeOptions {
            credential_id: credential_id.into(),
            credential_secret: credential_secret.into(),
            latency: Duration::ZERO,
            fail_every: None,
            throttle_every: None,
        }
    }
}

impl fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeOptions")
            .field("credential_id", &"<redacted>")
            .field("credential_secret", &"<redacted>")
            .field("latency", &self.latency)
            .field("fail_every", &self.fail_every)
            .field("throttle_every", &self.throttle_every)
            .finish()
    }
}

/// What the server has seen since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Requests under `/api/v1`, injected faults included.
    pub api_requests: u64,
    /// Requests to the token endpoint.
    pub token_requests: u64,
    /// API requests answered 503 by `fail_every`.
    pub injected_failures: u64,
    /// API requests answered 429 by `throttle_every`.
    pub injected_throttles: u64,
    /// Requests per `METHOD /path` (query string left out), every path counted.
    pub by_route: BTreeMap<String, u64>,
}

impl ServerStats {
    /// How many requests `METHOD /path` received.
    pub fn count(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }
}

/// What the serving threads share.
struct Shared {
    sim: Sim,
    options: ServeOptions,
    tokens: Mutex<BTreeSet<String>>,
    stats: Mutex<ServerStats>,
}

/// A running `sim serve`: a background thread answering HTTP on one address until
/// [`Server::stop`] or drop.
pub struct Server {
    http: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Server {
    /// Binds `listen` (such as `127.0.0.1:0` for a free port) and serves `sim` on a
    /// background thread.
    pub fn start(sim: Sim, listen: &str, options: ServeOptions) -> Result<Server, CloudError> {
        let http = tiny_http::Server::http(listen)
            .map_err(|e| CloudError::Unavailable(format!("cannot listen on {listen}: {e}")))?;
        let addr = http.server_addr().to_ip().ok_or_else(|| {
            CloudError::Unavailable(format!("{listen} is not an IP address to listen on"))
        })?;
        let http = Arc::new(http);
        let shared = Arc::new(Shared {
            sim,
            options,
            tokens: Mutex::new(BTreeSet::new()),
            stats: Mutex::new(ServerStats::default()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (http, shared, stop) = (Arc::clone(&http), Arc::clone(&shared), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("nicplan-sim-serve".to_string())
                .spawn(move || serve(&http, &shared, &stop))
                .map_err(|e| {
                    CloudError::Unavailable(format!("cannot start the serving thread: {e}"))
                })?
        };
        Ok(Server {
            http,
            shared,
            stop,
            thread: Some(thread),
            addr,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give `KAKAOCLOUD_ENDPOINT`, `http://127.0.0.1:PORT` (loopback
    /// when it listens on every address).
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The simulator behind it, for inspection and operator controls.
    pub fn sim(&self) -> &Sim {
        &self.shared.sim
    }

    /// A copy of what it has seen so far.
    pub fn stats(&self) -> ServerStats {
        guard(&self.shared.stats).clone()
    }

    /// Forgets every token issued so far, as an expiry would: the next API call with one
    /// gets 401.
    pub fn revoke_tokens(&self) {
        guard(&self.shared.tokens).clear();
    }

    /// The tokens currently valid, so tests can check they leak nowhere.
    pub fn issued_tokens(&self) -> Vec<String> {
        guard(&self.shared.tokens).iter().cloned().collect()
    }

    /// Stops serving and waits for the serving thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Serves until the process ends (for `nicplan sim serve`): blocks on the serving
    /// thread, which only [`Server::stop`] or drop would end.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.http.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The serving loop: one short-lived thread per request, so injected latency does not
/// serialise clients (the simulator serialises its own calls).
fn serve(http: &tiny_http::Server, shared: &Arc<Shared>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match http.recv_timeout(POLL) {
            Ok(Some(request)) => {
                let shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name("nicplan-sim-request".to_string())
                    .spawn(move || answer(&shared, request));
                // Out of threads: the request was dropped with the closure, which
                // answers it 500; the client retries.
                drop(spawned);
            }
            Ok(None) => {}
            Err(_) => {
                if !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(POLL);
                }
            }
        }
    }
}

/// Answers one request, turning a panic into a 500.
fn answer(shared: &Shared, mut request: tiny_http::Request) {
    let reply =
        catch_unwind(AssertUnwindSafe(|| handle(shared, &mut request))).unwrap_or_else(|_| {
            Reply::error(
                500,
                "internal_error",
                "the simulator failed while answering this request",
            )
        });
    let _ = reply.write(request.into_writer());
}

/// One HTTP answer.
struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
        Reply::json(
            status,
            json!({"error": {"code": code, "message": message.into()}}),
        )
    }

    fn bad_request(message: impl Into<String>) -> Reply {
        Reply::error(400, "bad_request", message)
    }

    fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    /// Writes the answer with `Connection: close`. tiny_http keeps one pooled thread
    /// per open connection and, when several connections open at once, can leave one
    /// waiting until another connection closes (seconds, with idle keep-alive
    /// clients); closing after every answer keeps that wait to one request.
    /// tiny_http drops a `Connection` header from its own responses, hence the raw
    /// writer.
    fn write(self, mut writer: impl std::io::Write) -> std::io::Result<()> {
        let body = self
            .body
            .map(|b| b.to_string().into_bytes())
            .unwrap_or_default();
        let reason = tiny_http::StatusCode(self.status).default_reason_phrase();
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nServer: nicplan-sim\r\nConnection: close\r\n",
            self.status
        );
        if self.status != 204 {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        for (name, value) in self.headers {
            if !value.contains(['\r', '\n']) {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        head.push_str("\r\n");
        writer.write_all(head.as_bytes())?;
        if self.status != 204 {
            writer.write_all(&body)?;
        }
        writer.flush()
    }
}

/// A route's result: the answer, or the error answer.
type Answer = Result<Reply, Reply>;

/// How a refusal of the simulator is answered on a route.
#[derive(Clone, Copy)]
enum Refusal {
    /// The request is invalid in itself: 400.
    Invalid,
    /// It conflicts with the current objects: 409.
    Conflict,
}

fn refused(refusal: Refusal) -> impl Fn(CloudError) -> Reply {
    move |e| match e {
        CloudError::Rejected(message) => match refusal {
            Refusal::Invalid => Reply::bad_request(message),
            Refusal::Conflict => Reply::error(409, "conflict", message),
        },
        e @ CloudError::NotFound { .. } => Reply::error(404, "not_found", e.to_string()),
        CloudError::Unavailable(message) => Reply::error(503, "service_unavailable", message),
    }
}

fn handle(shared: &Shared, request: &mut tiny_http::Request) -> Reply {
    let method = request.method().as_str().to_ascii_uppercase();
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    {
        let mut stats = guard(&shared.stats);
        *stats
            .by_route
            .entry(format!("{method} {path}"))
            .or_insert(0) += 1;
        if path == TOKEN_PATH {
            stats.token_requests += 1;
        }
    }
    if !shared.options.latency.is_zero() {
        std::thread::sleep(shared.options.latency);
    }
    // The body is read before anything is answered, even a fault: an unread chunked
    // body would stay in the connection and garble the next request on it.
    let body = match read_body(request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if path == TOKEN_PATH {
        if method != "POST" {
            return method_not_allowed(&method, path);
        }
        return issue_token(shared, &body).unwrap_or_else(|e| e);
    }
    let Some(rest) = path
        .strip_prefix(API_PREFIX)
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return Reply::error(404, "not_found", format!("no such path: {path}"));
    };
    if let Some(fault) = inject_fault(shared) {
        return fault;
    }
    let token = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("X-Auth-Token"))
        .map(|h| h.value.as_str().trim().to_string());
    let authorised = token.is_some_and(|t| guard(&shared.tokens).contains(&t));
    if !authorised {
        return Reply::error(
            401,
            "unauthorized",
            "a valid X-Auth-Token header is required; get one from POST /identity/v3/auth/tokens",
        );
    }
    let result = parse_query(query).and_then(|query| {
        let segments = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_decode(s, false)
                    .ok_or_else(|| Reply::bad_request(format!("malformed path segment {s}")))
            })
            .collect::<Result<Vec<String>, Reply>>()?;
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        route(shared, &method, &segments, &query, &body)
    });
    result.unwrap_or_else(|e| e)
}

/// Counts an API request and answers it with an injected fault when its number says so.
fn inject_fault(shared: &Shared) -> Option<Reply> {
    let mut stats = guard(&shared.stats);
    stats.api_requests += 1;
    let n = stats.api_requests;
    let hits = |every: Option<u32>| every.is_some_and(|e| e > 0 && n.is_multiple_of(u64::from(e)));
    if hits(shared.options.fail_every) {
        stats.injected_failures += 1;
        return Some(Reply::error(
            503,
            "service_unavailable",
            "injected fault: the service is unavailable, retry later",
        ));
    }
    if hits(shared.options.throttle_every) {
        stats.injected_throttles += 1;
        return Some(
            Reply::error(
                429,
                "too_many_requests",
                "injected fault: too many requests, retry later",
            )
            .with_header("Retry-After", "0".to_string()),
        );
    }
    None
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes. The rest of a refused body
/// is read and dropped (a declared length by tiny_http itself, a chunked body here, up
/// to [`DRAIN_LIMIT`]), so the connection stays usable for the next request.
fn read_body(request: &mut tiny_http::Request) -> Result<Vec<u8>, Reply> {
    let too_large = || {
        Reply::error(
            413,
            "payload_too_large",
            format!("request bodies are limited to {MAX_BODY} bytes"),
        )
    };
    if request.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_BODY)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    request
        .as_reader()
        .take(limit)
        .read_to_end(&mut body)
        .map_err(|e| Reply::bad_request(format!("cannot read the request body: {e}")))?;
    if body.len() > MAX_BODY {
        let _ = std::io::copy(
            &mut request.as_reader().take(DRAIN_LIMIT),
            &mut std::io::sink(),
        );
        return Err(too_large());
    }
    Ok(body)
}

fn method_not_allowed(method: &str, path: &str) -> Reply {
    Reply::error(
        405,
        "method_not_allowed",
        format!("{method} is not allowed on {path}"),
    )
}

/// Decodes `%XX` escapes (and `+` as a space in query strings); `None` when malformed
/// or not UTF-8.
fn percent_decode(s: &str, plus_as_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A list's query: paging, sorting, and equality filters.
struct Query {
    limit: usize,
    offset: usize,
    sort: Option<(String, bool)>,
    filters: Vec<(String, String)>,
}

fn parse_query(raw: &str) -> Result<Query, Reply> {
    let mut query = Query {
        limit: DEFAULT_LIMIT,
        offset: 0,
        sort: None,
        filters: Vec::new(),
    };
    let mut sort_key = None;
    let mut descending = false;
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let malformed = || Reply::bad_request(format!("malformed query parameter {pair}"));
        let k = percent_decode(k, true).ok_or_else(malformed)?;
        let v = percent_decode(v, true).ok_or_else(malformed)?;
        let number = |what: &str| {
            v.parse::<usize>().map_err(|_| {
                Reply::bad_request(format!("{what} must be a whole number, not {v:?}"))
            })
        };
        match k.as_str() {
            "limit" => {
                let limit = number("limit")?;
                if !(1..=MAX_LIMIT).contains(&limit) {
                    return Err(Reply::bad_request(format!(
                        "limit must be between 1 and {MAX_LIMIT}, not {limit}"
                    )));
                }
                query.limit = limit;
            }
            "offset" => query.offset = number("offset")?,
            "sort_keys" => sort_key = Some(v),
            "sort_dirs" => match v.as_str() {
                "asc" => descending = false,
                "desc" => descending = true,
                other => {
                    return Err(Reply::bad_request(format!(
                        "sort_dirs must be asc or desc, not {other:?}"
                    )));
                }
            },
            _ => query.filters.push((k, v)),
        }
    }
    query.sort = sort_key.map(|k| (k, descending));
    Ok(query)
}

/// A top-level field as text, for filters and sorting.
fn field_text(item: &Value, key: &str) -> Option<String> {
    match item.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One page of `items`, filtered and sorted as the query asks.
fn list(query: &Query, plural: &str, items: Vec<Value>) -> Answer {
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|item| {
            query
                .filters
                .iter()
                .all(|(k, v)| field_text(item, k).as_deref() == Some(v.as_str()))
        })
        .collect();
    if let Some((key, descending)) = &query.sort {
        items.sort_by_key(|item| field_text(item, key));
        if *descending {
            items.reverse();
        }
    }
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(query.offset)
        .take(query.limit)
        .collect();
    Ok(Reply::json(
        200,
        json!({
            plural: page,
            "pagination": {"total": total, "offset": query.offset, "limit": query.limit},
        }),
    ))
}

/// Parses a JSON body into `T`.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Reply::bad_request("this call needs a JSON body"));
    }
    serde_json::from_slice(body)
        .map_err(|e| Reply::bad_request(format!("the body does not fit this call: {e}")))
}

fn parse_cidr(text: &str) -> Result<Ipv4Net, Reply> {
    text.parse()
        .map_err(|_| Reply::bad_request(format!("cidr_block {text:?} is not an IPv4 CIDR")))
}

fn parse_ip(what: &str, text: &str) -> Result<Ipv4Addr, Reply> {
    text.parse()
        .map_err(|_| Reply::bad_request(format!("{what} {text:?} is not an IPv4 address")))
}

fn inventory(shared: &Shared) -> Result<Inventory, Reply> {
    shared.sim.inventory().map_err(refused(Refusal::Invalid))
}

fn not_found(kind: &'static str, id: &str) -> Reply {
    let e = CloudError::NotFound {
        kind,
        id: id.to_string(),
    };
    Reply::error(404, "not_found", e.to_string())
}

/// The catalogue entry whose flavor ID is `id`.
fn flavor_by_id(id: &str) -> Option<&'static InstanceType> {
    catalogue::CATALOGUE.iter().find(|t| flavor_id(t) == id)
}

/// The flavor ID of a catalogue entry, `flavor-FAMILY-SIZE`.
pub fn flavor_id(t: &InstanceType) -> String {
    format!("flavor-{}-{}", t.family, t.size)
}

fn flavor_json(t: &InstanceType) -> Value {
    let instance_type = t.kind().as_str();
    json!({
        "id": flavor_id(t),
        "name": t.name(),
        "group": t.group.as_str(),
        "instance_family": t.family,
        "instance_size": t.size,
        "instance_type": instance_type,
        "maximum_network_interfaces": t.max_network_interfaces,
    })
}

fn vpc_json(v: &CloudVpc) -> Value {
    json!({
        "id": v.id,
        "name": v.name,
        "description": v.description,
        "cidr_block": v.cidr_block.to_string(),
        "provisioning_status": v.status.as_str(),
    })
}

fn subnet_json(s: &CloudSubnet) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "vpc_id": s.vpc_id,
        "cidr_block": s.cidr_block.to_string(),
        "availability_zone": s.availability_zone,
        "provisioning_status": s.status.as_str(),
    })
}

fn security_group_json(g: &CloudSecurityGroup) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "rules": [],
    })
}

fn nic_json(inv: &Inventory, n: &CloudNic) -> Value {
    let subnet = inv.subnets.get(&n.subnet_id);
    let public = inv
        .public_ips
        .values()
        .find(|p| p.nic_id.as_deref() == Some(n.id.as_str()) && p.private_ip == Some(n.private_ip))
        .map(|p| p.address.to_string());
    let groups: Vec<Value> = n
        .security_group_ids
        .iter()
        .map(|id| {
            let name = inv.security_groups.get(id).map(|g| g.name.as_str());
            json!({"id": id, "name": name.unwrap_or_default()})
        })
        .collect();
    let pairs: Vec<Value> = if n.source_dest_check {
        Vec::new()
    } else {
        vec![json!({"ip_address": ANY_ADDRESS_PAIR, "mac_address": n.mac_address})]
    };
    let owner = n.device_id.as_ref().map(|_| {
        format!(
            "compute:{}",
            subnet
                .map(|s| s.availability_zone.as_str())
                .unwrap_or_default()
        )
    });
    json!({
        "id": n.id,
        "name": n.name,
        "status": if n.device_id.is_some() { "in_use" } else { "available" },
        "description": n.description,
        "vpc_id": subnet.map(|s| s.vpc_id.clone()),
        "subnet_id": n.subnet_id,
        "mac_address": n.mac_address,
        "device_id": n.device_id,
        "device_owner": owner,
        "private_ip": n.private_ip.to_string(),
        "secondary_ips": n.secondary_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "public_ip": public,
        "security_groups": groups,
        "allowed_address_pairs": pairs,
        "is_network_interface_security_enabled": !n.security_group_ids.is_empty(),
    })
}

fn instance_json(inv: &Inventory, i: &CloudInstance) -> Value {
    let flavor = catalogue::lookup(&i.flavor)
        .map_or_else(|| json!({"id": i.flavor, "name": i.flavor}), flavor_json);
    let instance_type = flavor.get("instance_type").cloned().unwrap_or(Value::Null);
    // What the instance shows: a NIC still attaching is not there yet.
    let addresses: Vec<Value> = i
        .attached_nic_ids
        .iter()
        .filter_map(|id| inv.nics.get(id))
        .map(|n| {
            let public = inv
                .public_ips
                .values()
                .find(|p| p.nic_id.as_deref() == Some(n.id.as_str()))
                .map(|p| p.address.to_string());
            json!({
                "network_interface_id": n.id,
                "private_ip": n.private_ip.to_string(),
                "public_ip": public,
            })
        })
        .collect();
    json!({
        "id": i.id,
        "name": i.name,
        "description": i.description,
        "status": i.status.as_str(),
        "flavor": flavor,
        "image": {"id": i.image, "name": i.image},
        "availability_zone": i.availability_zone,
        "addresses": addresses,
        "instance_type": instance_type,
    })
}

fn public_ip_json(inv: &Inventory, p: &CloudPublicIp) -> Value {
    let related = p.nic_id.as_ref().map(|nic_id| match inv.nics.get(nic_id) {
        Some(n) => json!({
            "id": n.id,
            "name": n.name,
            "type": "network_interface",
            "device_id": n.device_id,
            "subnet_id": n.subnet_id,
            "vpc_id": inv.subnets.get(&n.subnet_id).map(|s| s.vpc_id.clone()),
        }),
        None => json!({"id": nic_id, "type": "network_interface"}),
    });
    json!({
        "id": p.id,
        "description": p.description,
        "status": p.status.as_str(),
        "public_ip": p.address.to_string(),
        "private_ip": p.private_ip.map(|ip| ip.to_string()),
        "related_resource": related,
    })
}

// Bodies, as the API takes them. Unknown fields are ignored, as the platform does.

#[derive(Deserialize)]
struct TokenBody {
    auth: TokenAuth,
}

#[derive(Deserialize)]
struct TokenAuth {
    identity: TokenIdentity,
}

#[derive(Deserialize)]
struct TokenIdentity {
    methods: Vec<String>,
    application_credential: TokenCredential,
}

#[derive(Deserialize)]
struct TokenCredential {
    id: String,
    secret: String,
}

#[derive(Deserialize)]
struct VpcBody {
    vpc: VpcFields,
}

#[derive(Deserialize)]
struct VpcFields {
    name: String,
    #[serde(default)]
    description: Option<String>,
    cidr_block: String,
}

#[derive(Deserialize)]
struct SubnetBody {
    subnet: SubnetFields,
}

#[derive(Deserialize)]
struct SubnetFields {
    name: String,
    #[serde(default)]
    description: Option<String>,
    vpc_id: String,
    cidr_block: String,
    availability_zone: String,
}

#[derive(Deserialize)]
struct SecurityGroupBody {
    security_group: SecurityGroupFields,
}

#[derive(Deserialize)]
struct SecurityGroupFields {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    rules: Option<Vec<Value>>,
}

/// A security group named by its ID, bare or as `{"id": ...}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdRef {
    Bare(String),
    Object { id: String },
}

impl IdRef {
    fn into_id(self) -> String {
        match self {
            IdRef::Bare(id) | IdRef::Object { id } => id,
        }
    }
}

#[derive(Deserialize)]
struct NicBody {
    network_interface: NicFields,
}

#[derive(Deserialize)]
struct NicFields {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    subnet_id: Option<String>,
    #[serde(default)]
    security_groups: Option<Vec<IdRef>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    private_ip: Option<String>,
}

#[derive(Deserialize)]
struct PairsBody {
    allowed_address_pairs: Vec<PairFields>,
}

#[derive(Deserialize)]
struct PairFields {
    ip_address: String,
}

#[derive(Deserialize)]
struct PublicIpBody {
    #[serde(default)]
    public_ip: Option<PublicIpFields>,
}

#[derive(Deserialize)]
struct PublicIpFields {
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct AssociateBody {
    #[serde(default)]
    private_ip: Option<String>,
}

#[derive(Deserialize)]
struct InstanceBody {
    instance: InstanceFields,
}

#[derive(Deserialize)]
struct InstanceFields {
    name: String,
    #[serde(default)]
    description: Option<String>,
    flavor_id: String,
    image_id: String,
    #[serde(default)]
    availability_zone: Option<String>,
    subnets: Vec<InstanceSubnet>,
    #[serde(default)]
    count: Option<u32>,
}

#[derive(Deserialize)]
struct InstanceSubnet {
    id: String,
    #[serde(default)]
    network_interface_id: Option<String>,
    #[serde(default)]
    private_ip: Option<String>,
}

#[derive(Deserialize)]
struct ResizeBody {
    flavor: ResizeFlavor,
}

#[derive(Deserialize)]
struct ResizeFlavor {
    id: String,
}

fn issue_token(shared: &Shared, body: &[u8]) -> Answer {
    let body: TokenBody = parse(body)?;
    let identity = body.auth.identity;
    if !identity
        .methods
        .iter()
        .any(|m| m == "application_credential")
    {
        return Err(Reply::bad_request(
            "auth.identity.methods must include application_credential",
        ));
    }
    let credential = identity.application_credential;
    if credential.id != shared.options.credential_id
        || credential.secret != shared.options.credential_secret
    {
        return Err(Reply::error(
            401,
            "unauthorized",
            "the application credential was not accepted",
        ));
    }
    let token = format!("gAAAA{}", uuid::Uuid::new_v4().simple());
    guard(&shared.tokens).insert(token.clone());
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_add(12 * 3600);
    Ok(Reply::json(
        201,
        json!({"token": {
            "methods": ["application_credential"],
            "expires_at": crate::state::rfc3339(expires),
        }}),
    )
    .with_header("X-Subject-Token", token))
}

/// Whether `segments` name a path this server knows, whatever the method.
fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["vpcs" | "subnets" | "security-groups" | "network-interfaces" | "public-ips"]
            | [
                "vpcs" | "subnets" | "security-groups" | "network-interfaces" | "public-ips",
                _
            ]
            | ["network-interfaces", _, "allowed-address-pairs"]
            | ["public-ips", _, "network-interfaces", _]
            | ["flavors"]
            | ["flavors", _]
            | ["instances"]
            | ["instances", _]
            | ["instances", _, "resize" | "stop" | "start"]
            | ["instances", _, "network-interfaces"]
            | ["instances", _, "network-interfaces", _]
            | [
                "instances",
                _,
                "network-interfaces",
                _,
                "security-groups",
                _
            ]
    )
}

fn route(shared: &Shared, method: &str, segments: &[&str], query: &Query, body: &[u8]) -> Answer {
    let sim = &shared.sim;
    match (method, segments) {
        // VPC service.
        ("GET", ["vpcs"]) => {
            let inv = inventory(shared)?;
            list(query, "vpcs", inv.vpcs.values().map(vpc_json).collect())
        }
        ("POST", ["vpcs"]) => {
            let b: VpcBody = parse(body)?;
            let cidr = parse_cidr(&b.vpc.cidr_block)?;
            let vpc = sim
                .create_vpc(
                    &b.vpc.name,
                    b.vpc.description.as_deref().unwrap_or_default(),
                    cidr,
                )
                .map_err(refused(Refusal::Invalid))?;
            Ok(Reply::json(201, json!({"vpc": vpc_json(&vpc)})))
        }
        ("GET", ["vpcs", id]) => {
            let inv = inventory(shared)?;
            let vpc = inv.vpcs.get(*id).ok_or_else(|| not_found("VPC", id))?;
            Ok(Reply::json(200, json!({"vpc": vpc_json(vpc)})))
        }
        ("DELETE", ["vpcs", id]) => {
            sim.delete_vpc(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("GET", ["subnets"]) => {
            let inv = inventory(shared)?;
            list(
                query,
                "subnets",
                inv.subnets.values().map(subnet_json).collect(),
            )
        }
        ("POST", ["subnets"]) => {
            let b: SubnetBody = parse(body)?;
            let s = b.subnet;
            let cidr = parse_cidr(&s.cidr_block)?;
            let subnet = sim
                .create_subnet(
                    &s.name,
                    s.description.as_deref().unwrap_or_default(),
                    &s.vpc_id,
                    cidr,
                    &s.availability_zone,
                )
                .map_err(refused(Refusal::Invalid))?;
            Ok(Reply::json(201, json!({"subnet": subnet_json(&subnet)})))
        }
        ("GET", ["subnets", id]) => {
            let inv = inventory(shared)?;
            let subnet = inv
                .subnets
                .get(*id)
                .ok_or_else(|| not_found("subnet", id))?;
            Ok(Reply::json(200, json!({"subnet": subnet_json(subnet)})))
        }
        ("DELETE", ["subnets", id]) => {
            sim.delete_subnet(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("GET", ["network-interfaces"]) => {
            let inv = inventory(shared)?;
            let items = inv.nics.values().map(|n| nic_json(&inv, n)).collect();
            list(query, "network_interfaces", items)
        }
        ("POST", ["network-interfaces"]) => create_nic(shared, body),
        ("GET", ["network-interfaces", id]) => nic_reply(shared, id, 200),
        ("PUT", ["network-interfaces", id]) => update_nic(shared, id, body),
        ("PUT", ["network-interfaces", id, "allowed-address-pairs"]) => {
            set_address_pairs(shared, id, body)
        }
        ("DELETE", ["network-interfaces", id]) => {
            sim.delete_nic(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        // Network service.
        ("GET", ["security-groups"]) => {
            let inv = inventory(shared)?;
            let items = inv
                .security_groups
                .values()
                .map(security_group_json)
                .collect();
            list(query, "security_groups", items)
        }
        ("POST", ["security-groups"]) => {
            let b: SecurityGroupBody = parse(body)?;
            let g = b.security_group;
            check_no_rules(g.rules.as_deref())?;
            let name = g
                .name
                .ok_or_else(|| Reply::bad_request("security_group.name is required"))?;
            let group = sim
                .create_security_group(&name, g.description.as_deref().unwrap_or_default())
                .map_err(refused(Refusal::Invalid))?;
            Ok(Reply::json(
                201,
                json!({"security_group": security_group_json(&group)}),
            ))
        }
        ("GET", ["security-groups", id]) => {
            let inv = inventory(shared)?;
            let group = inv
                .security_groups
                .get(*id)
                .ok_or_else(|| not_found("security group", id))?;
            Ok(Reply::json(
                200,
                json!({"security_group": security_group_json(group)}),
            ))
        }
        ("PUT", ["security-groups", id]) => {
            let b: SecurityGroupBody = parse(body)?;
            let g = b.security_group;
            check_no_rules(g.rules.as_deref())?;
            let inv = inventory(shared)?;
            let current = inv
                .security_groups
                .get(*id)
                .ok_or_else(|| not_found("security group", id))?;
            check_same_name("security group", &current.name, g.name.as_deref())?;
            let description = g.description.unwrap_or_else(|| current.description.clone());
            let group = sim
                .update_security_group(id, &description)
                .map_err(refused(Refusal::Invalid))?;
            Ok(Reply::json(
                200,
                json!({"security_group": security_group_json(&group)}),
            ))
        }
        ("DELETE", ["security-groups", id]) => {
            sim.delete_security_group(id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("GET", ["public-ips"]) => {
            let inv = inventory(shared)?;
            let items = inv
                .public_ips
                .values()
                .map(|p| public_ip_json(&inv, p))
                .collect();
            list(query, "public_ips", items)
        }
        ("POST", ["public-ips"]) => {
            let b: PublicIpBody = if body.iter().all(u8::is_ascii_whitespace) {
                PublicIpBody { public_ip: None }
            } else {
                parse(body)?
            };
            let description = b.public_ip.and_then(|p| p.description).unwrap_or_default();
            let public = sim
                .create_public_ip(&description)
                .map_err(refused(Refusal::Invalid))?;
            let inv = inventory(shared)?;
            Ok(Reply::json(
                201,
                json!({"public_ip": public_ip_json(&inv, &public)}),
            ))
        }
        ("GET", ["public-ips", id]) => public_ip_reply(shared, id),
        ("DELETE", ["public-ips", id]) => {
            sim.delete_public_ip(id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("PUT", ["public-ips", id, "network-interfaces", nic_id]) => {
            let b: AssociateBody = if body.iter().all(u8::is_ascii_whitespace) {
                AssociateBody { private_ip: None }
            } else {
                parse(body)?
            };
            let ip = b
                .private_ip
                .map(|ip| parse_ip("private_ip", &ip))
                .transpose()?;
            sim.associate_public_ip(id, nic_id, ip)
                .map_err(refused(Refusal::Conflict))?;
            public_ip_reply(shared, id)
        }
        ("DELETE", ["public-ips", id, "network-interfaces", nic_id]) => {
            sim.disassociate_public_ip(id, nic_id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        // BCS service.
        ("GET", ["flavors"]) => list(
            query,
            "flavors",
            catalogue::CATALOGUE.iter().map(flavor_json).collect(),
        ),
        ("GET", ["flavors", id]) => {
            let flavor = flavor_by_id(id).ok_or_else(|| not_found("flavor", id))?;
            Ok(Reply::json(200, json!({"flavor": flavor_json(flavor)})))
        }
        ("GET", ["instances"]) => {
            let inv = inventory(shared)?;
            let items = inv
                .instances
                .values()
                .map(|i| instance_json(&inv, i))
                .collect();
            list(query, "instances", items)
        }
        ("POST", ["instances"]) => create_instance(shared, body),
        ("GET", ["instances", id]) => instance_reply(shared, id, 200),
        ("DELETE", ["instances", id]) => {
            sim.delete_instance(id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("POST", ["instances", id, "resize"]) => {
            let b: ResizeBody = parse(body)?;
            let flavor = flavor_by_id(&b.flavor.id).ok_or_else(|| {
                Reply::bad_request(format!(
                    "flavor ID {} does not exist; GET /api/v1/flavors lists them",
                    b.flavor.id
                ))
            })?;
            sim.resize_instance(id, &flavor.name())
                .map_err(refused(Refusal::Conflict))?;
            instance_reply(shared, id, 200)
        }
        ("POST", ["instances", id, "stop"]) => {
            sim.stop_instance(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::json(202, json!({})))
        }
        ("POST", ["instances", id, "start"]) => {
            sim.start_instance(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::json(202, json!({})))
        }
        ("GET", ["instances", id, "network-interfaces"]) => {
            let inv = inventory(shared)?;
            if !inv.instances.contains_key(*id) {
                return Err(not_found("instance", id));
            }
            let items = inv
                .nics
                .values()
                .filter(|n| n.device_id.as_deref() == Some(*id))
                .map(|n| nic_json(&inv, n))
                .collect();
            list(query, "network_interfaces", items)
        }
        ("POST", ["instances", id, "network-interfaces", nic_id]) => {
            sim.attach_nic(id, nic_id)
                .map_err(refused(Refusal::Conflict))?;
            nic_reply(shared, nic_id, 200)
        }
        ("DELETE", ["instances", id, "network-interfaces", nic_id]) => {
            sim.detach_nic(id, nic_id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        (
            "POST",
            [
                "instances",
                id,
                "network-interfaces",
                nic_id,
                "security-groups",
                sg,
            ],
        ) => change_nic_group(shared, id, nic_id, sg, true),
        (
            "DELETE",
            [
                "instances",
                id,
                "network-interfaces",
                nic_id,
                "security-groups",
                sg,
            ],
        ) => {
            change_nic_group(shared, id, nic_id, sg, false)?;
            Ok(Reply::no_content())
        }
        (_, segments) if known_path(segments) => Err(method_not_allowed(
            method,
            &format!("{API_PREFIX}/{}", segments.join("/")),
        )),
        (_, segments) => Err(Reply::error(
            404,
            "not_found",
            format!("no such path: {API_PREFIX}/{}", segments.join("/")),
        )),
    }
}

/// Security group rules are not modelled: only an empty list is taken.
fn check_no_rules(rules: Option<&[Value]>) -> Result<(), Reply> {
    if rules.is_some_and(|r| !r.is_empty()) {
        return Err(Reply::bad_request(
            "the simulator does not model security group rules; send none",
        ));
    }
    Ok(())
}

/// Names are fixed in the simulator: a `PUT` may repeat the name but not change it.
fn check_same_name(kind: &str, current: &str, asked: Option<&str>) -> Result<(), Reply> {
    match asked {
        Some(name) if name != current => Err(Reply::bad_request(format!(
            "the simulator cannot rename {kind} {current} to {name}"
        ))),
        _ => Ok(()),
    }
}

fn nic_reply(shared: &Shared, id: &str, status: u16) -> Answer {
    let inv = inventory(shared)?;
    let nic = inv
        .nics
        .get(id)
        .ok_or_else(|| not_found("network interface", id))?;
    Ok(Reply::json(
        status,
        json!({"network_interface": nic_json(&inv, nic)}),
    ))
}

fn instance_reply(shared: &Shared, id: &str, status: u16) -> Answer {
    let inv = inventory(shared)?;
    let instance = inv
        .instances
        .get(id)
        .ok_or_else(|| not_found("instance", id))?;
    Ok(Reply::json(
        status,
        json!({"instance": instance_json(&inv, instance)}),
    ))
}

fn public_ip_reply(shared: &Shared, id: &str) -> Answer {
    let inv = inventory(shared)?;
    let public = inv
        .public_ips
        .get(id)
        .ok_or_else(|| not_found("public IP", id))?;
    Ok(Reply::json(
        200,
        json!({"public_ip": public_ip_json(&inv, public)}),
    ))
}

fn create_nic(shared: &Shared, body: &[u8]) -> Answer {
    let b: NicBody = parse(body)?;
    let n = b.network_interface;
    let name = n
        .name
        .ok_or_else(|| Reply::bad_request("network_interface.name is required"))?;
    let subnet_id = n
        .subnet_id
        .ok_or_else(|| Reply::bad_request("network_interface.subnet_id is required"))?;
    let private_ip = n
        .private_ip
        .map(|ip| parse_ip("private_ip", &ip))
        .transpose()?;
    let request = NicRequest {
        name,
        description: n.description.unwrap_or_default(),
        subnet_id,
        private_ip,
        secondary_ips: Vec::new(),
        security_group_ids: n
            .security_groups
            .unwrap_or_default()
            .into_iter()
            .map(IdRef::into_id)
            .collect(),
        source_dest_check: true,
    };
    let nic = shared
        .sim
        .create_nic(&request)
        .map_err(refused(Refusal::Invalid))?;
    nic_reply(shared, &nic.id, 201)
}

/// The simulator's update of a NIC, with every field the call leaves out kept as is.
fn update_from(current: &CloudNic) -> NicUpdate {
    NicUpdate {
        description: current.description.clone(),
        security_group_ids: current.security_group_ids.clone(),
        source_dest_check: current.source_dest_check,
        secondary_ips: current.secondary_ips.clone(),
    }
}

fn current_nic(shared: &Shared, id: &str) -> Result<CloudNic, Reply> {
    let inv = inventory(shared)?;
    inv.nics
        .get(id)
        .cloned()
        .ok_or_else(|| not_found("network interface", id))
}

fn update_nic(shared: &Shared, id: &str, body: &[u8]) -> Answer {
    let b: NicBody = parse(body)?;
    let n = b.network_interface;
    let current = current_nic(shared, id)?;
    check_same_name("network interface", &current.name, n.name.as_deref())?;
    if n.subnet_id
        .as_ref()
        .is_some_and(|s| *s != current.subnet_id)
        || n.private_ip
            .as_ref()
            .is_some_and(|ip| *ip != current.private_ip.to_string())
    {
        return Err(Reply::bad_request(
            "the subnet and private IP of a network interface cannot change; create a new one",
        ));
    }
    let mut update = update_from(&current);
    if let Some(description) = n.description {
        update.description = description;
    }
    if let Some(groups) = n.security_groups {
        update.security_group_ids = groups.into_iter().map(IdRef::into_id).collect();
    }
    shared
        .sim
        .update_nic(id, &update)
        .map_err(refused(Refusal::Invalid))?;
    nic_reply(shared, id, 200)
}

fn set_address_pairs(shared: &Shared, id: &str, body: &[u8]) -> Answer {
    let b: PairsBody = parse(body)?;
    let source_dest_check = match b.allowed_address_pairs.as_slice() {
        [] => true,
        [pair] if pair.ip_address == ANY_ADDRESS_PAIR => false,
        _ => {
            return Err(Reply::bad_request(format!(
                "the simulator models allowed address pairs only as the source/destination check: send none (check on) or exactly one pair {ANY_ADDRESS_PAIR} (check off)"
            )));
        }
    };
    let current = current_nic(shared, id)?;
    let update = NicUpdate {
        source_dest_check,
        ..update_from(&current)
    };
    shared
        .sim
        .update_nic(id, &update)
        .map_err(refused(Refusal::Invalid))?;
    nic_reply(shared, id, 200)
}

fn change_nic_group(shared: &Shared, instance: &str, id: &str, sg: &str, add: bool) -> Answer {
    let inv = inventory(shared)?;
    if !inv.instances.contains_key(instance) {
        return Err(not_found("instance", instance));
    }
    let current = inv
        .nics
        .get(id)
        .ok_or_else(|| not_found("network interface", id))?;
    if current.device_id.as_deref() != Some(instance) {
        return Err(Reply::error(
            409,
            "conflict",
            format!("network interface {id} is not attached to instance {instance}"),
        ));
    }
    let mut update = update_from(current);
    let held = update.security_group_ids.iter().any(|g| g == sg);
    if add && !held {
        update.security_group_ids.push(sg.to_string());
    } else if !add {
        if !held {
            return Err(Reply::error(
                409,
                "conflict",
                format!("network interface {id} does not use security group {sg}"),
            ));
        }
        update.security_group_ids.retain(|g| g != sg);
    }
    shared
        .sim
        .update_nic(id, &update)
        .map_err(refused(Refusal::Conflict))?;
    nic_reply(shared, id, 200)
}

fn create_instance(shared: &Shared, body: &[u8]) -> Answer {
    let b: InstanceBody = parse(body)?;
    let i = b.instance;
    if i.count.is_some_and(|c| c != 1) {
        return Err(Reply::bad_request(
            "the simulator creates one instance per call (count 1)",
        ));
    }
    let flavor = flavor_by_id(&i.flavor_id).ok_or_else(|| {
        Reply::bad_request(format!(
            "flavor ID {} does not exist; GET /api/v1/flavors lists them",
            i.flavor_id
        ))
    })?;
    let [subnet] = i.subnets.as_slice() else {
        return Err(Reply::bad_request(
            "the simulator creates an instance around one existing network interface: give exactly one subnets entry, with network_interface_id, and attach the others afterwards",
        ));
    };
    let nic_id = subnet.network_interface_id.clone().ok_or_else(|| {
        Reply::bad_request(
            "subnets[0].network_interface_id is required: create the primary network interface first",
        )
    })?;
    let inv = inventory(shared)?;
    if let Some(nic) = inv.nics.get(&nic_id) {
        if subnet.id != nic.subnet_id {
            return Err(Reply::bad_request(format!(
                "subnets[0].id is {} but network interface {nic_id} is in subnet {}",
                subnet.id, nic.subnet_id
            )));
        }
        if let Some(ip) = &subnet.private_ip
            && *ip != nic.private_ip.to_string()
        {
            return Err(Reply::bad_request(format!(
                "subnets[0].private_ip is {ip} but network interface {nic_id} has {}",
                nic.private_ip
            )));
        }
        let zone = inv
            .subnets
            .get(&nic.subnet_id)
            .map(|s| &s.availability_zone);
        if let (Some(asked), Some(zone)) = (&i.availability_zone, zone)
            && asked != zone
        {
            return Err(Reply::bad_request(format!(
                "availability_zone is {asked} but network interface {nic_id} is in zone {zone}"
            )));
        }
    }
    let request = InstanceRequest {
        name: i.name,
        description: i.description.unwrap_or_default(),
        flavor: flavor.name(),
        image: i.image_id,
        primary_nic_id: nic_id,
    };
    let instance = shared
        .sim
        .create_instance(&request)
        .map_err(refused(Refusal::Invalid))?;
    instance_reply(shared, &instance.id, 201)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_takes_escapes_and_refuses_broken_ones() {
        assert_eq!(percent_decode("a%20b", false).as_deref(), Some("a b"));
        assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%5Bx%5D", false).as_deref(), Some("[x]"));
        assert_eq!(percent_decode("%", false), None);
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%ff", false), None);
    }

    #[test]
    fn queries_page_filter_and_refuse_nonsense() {
        let q = parse_query("limit=2&offset=1&name=b&sort_keys=id&sort_dirs=desc")
            .unwrap_or_else(|_| panic!("parses"));
        assert_eq!((q.limit, q.offset), (2, 1));
        assert_eq!(q.filters, vec![("name".to_string(), "b".to_string())]);
        assert_eq!(q.sort, Some(("id".to_string(), true)));
        assert!(parse_query("limit=0").is_err());
        assert!(parse_query("limit=x").is_err());
        assert!(parse_query("offset=-1").is_err());
        assert!(parse_query("sort_dirs=up").is_err());
    }

    #[test]
    fn the_debug_output_hides_the_credential() {
        let options = ServeOptions::new("the-id", "the-secret");
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("the-id") && !shown.contains("the-secret"),
            "{shown}"
        );
    }

    #[test]
    fn flavor_ids_round_trip() {
        for t in catalogue::CATALOGUE {
            assert_eq!(
                flavor_by_id(&flavor_id(t)).map(InstanceType::name),
                Some(t.name())
            );
        }
        assert!(flavor_by_id("m2a.large").is_none());
    }
}
