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
//! - Every call answers in the platform's shape for that call (`routes`, built on
//!   [`crate::cloud::wire`]): creates and updates the thin models the platform answers
//!   them with, gets and lists the full ones, objects wrapped in their singular name
//!   (`{"network_interface": {...}}`), lists as `{"<plural>": [...], "pagination":
//!   {"total", "offset", "limit"}}` with `limit` (default 20, at most 1000), `offset`,
//!   `sort_keys`/`sort_dirs` over one top-level field, and any other query parameter
//!   as an equality filter on the top-level field of that name. Lists are ordered by
//!   ID unless sorted otherwise.
//! - A body that does not fit its call's request model (not JSON, a field missing or
//!   of the wrong type, a CIDR or address that does not parse) is 422 with the
//!   platform's `{"detail": [{"loc": ["body", ...], "msg", "type"}]}`. Other errors are
//!   `{"error": {"code", "message"}}`. A refusal of the simulator
//!   ([`CloudError::Rejected`]) is 400 when the request asks for something invalid in
//!   itself (creates and updates) and 409 when it conflicts with the objects it acts on
//!   (deletes, attach/detach, resize, associate/disassociate); an unknown ID
//!   ([`CloudError::NotFound`]) is 404; a broken simulator file is 503. Bodies above
//!   1 MiB get 413, unknown paths 404, a known path with another method 405, a
//!   malformed path or query 400. A panic while answering (there should be none) is
//!   caught and answered 500; the server keeps serving.
//! - Every answer carries `Connection: close`: tiny_http gives each open connection a
//!   pooled thread and, when several connections open at once, can leave one waiting
//!   until another closes (seconds with idle keep-alive clients). The body of every
//!   request is read before it is answered, faults included, so an unread chunked body
//!   never garbles the connection.
//!
//! Decisions where the doc is silent (the `kakaocloud` backend sends the same):
//! - Objects get the platform's form of ID, a UUID (the simulator's world records the
//!   switch with its first change through the server; the `kakaocloud` backend refuses
//!   a state holding anything else).
//! - Flavor IDs are `flavor-FAMILY-SIZE` (`flavor-m2a-large`), listed by `GET /flavors`
//!   from the instance catalogue; `flavor_id` (create) and `{"flavor": {"id"}}` (resize)
//!   take those IDs, never names. An instance shows `flavor: {id, name, ...}`.
//! - Images are not modelled: `image_id` is kept as given and shown as
//!   `image: {id, name}` with both set to it.
//! - `POST /instances` creates the instance around an existing NIC: `subnets` must hold
//!   exactly one entry with `network_interface_id`, whose `id` is that NIC's subnet,
//!   and no `private_ip` or `security_groups` (the NIC carries its own). `volumes` must
//!   be one volume with a size for a virtual machine or GPU flavor, and empty for bare
//!   metal, as the platform asks; sizes are not modelled further. `key_name`
//!   is accepted and ignored. An instance's `addresses` list its primary NIC first.
//! - `source_dest_check: false` is one allowed address pair `0.0.0.0/0`; `true` is none.
//!   `PUT .../allowed-address-pairs` accepts those two forms, the empty one also as
//!   `[{"ip_address": null}]` (how the platform's tools clear the list).
//! - Renaming (a `name` that differs from the current one in a `PUT`) is refused with
//!   400: the simulator keeps names fixed.
//! - `PUT /public-ips/{id}/network-interfaces/{nic_id}` takes no body and maps the
//!   NIC's primary IP.
//! - Faults, over `/api/v1` requests only and before the token is checked:
//!   `fail_every: N` answers every Nth request 503 and `throttle_every: M` every Mth
//!   429 with `Retry-After: 0` (both on one request: 503). Then, by rates drawn from a
//!   seeded generator (one draw per request, so the rates add up to at most 1):
//!   `fail_rate` answers 503 and `throttle_rate` 429, neither reaching the simulator
//!   (a request refused so is not refused again the next time the same method and path
//!   come: the trouble is transient, and a client's retries end),
//!   and `drop_rate` carries the call out and then loses its answer: the connection
//!   breaks before a status line (tiny_http cannot close a client's socket from its
//!   side, so the server writes a line no HTTP client can read, and the client closes
//!   it), as a gateway that fails after the platform acted would.
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

use serde_json::{Value, json};

mod routes;

pub use routes::flavor_id;

use super::sim::Sim;
use super::{Cloud, CloudError, Inventory};

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
    /// The share of API requests answered 503 without reaching the simulator.
    pub fail_rate: f64,
    /// The share of API requests answered 429 with `Retry-After: 0`.
    pub throttle_rate: f64,
    /// The share of API requests carried out whose answer is then lost.
    pub drop_rate: f64,
    /// The seed of the generator the rates draw from.
    pub seed: u64,
    /// Writes one line per request to standard error: method, path, status, and
    /// whether the answer was an injected fault or lost.
    pub log: bool,
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
            fail_rate: 0.0,
            throttle_rate: 0.0,
            drop_rate: 0.0,
            seed: 0,
            log: false,
        }
    }

    /// Checks the rates: each between 0 and 1, together at most 1.
    pub fn check(&self) -> Result<(), String> {
        let rates = [
            ("fail", self.fail_rate),
            ("throttle", self.throttle_rate),
            ("drop", self.drop_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!(
                    "the {name} rate must be between 0 and 1, not {rate}"
                ));
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "the fail, throttle and drop rates add up to {sum}; one request meets one fault at most, so they must add up to at most 1"
            ));
        }
        Ok(())
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
            .field("fail_rate", &self.fail_rate)
            .field("throttle_rate", &self.throttle_rate)
            .field("drop_rate", &self.drop_rate)
            .field("seed", &self.seed)
            .field("log", &self.log)
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
    /// API requests answered 503 by `fail_every` or `fail_rate`.
    pub injected_failures: u64,
    /// API requests answered 429 by `throttle_every` or `throttle_rate`.
    pub injected_throttles: u64,
    /// API requests carried out whose answer `drop_rate` lost.
    pub dropped_answers: u64,
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
    /// The state of the generator the fault rates draw from.
    draws: Mutex<u64>,
    /// `METHOD path` of the requests whose last attempt an injected 503 or 429
    /// refused: their next attempt gets through those (an injected refusal is
    /// transient, so that a client's retries end, as they do against a platform that
    /// is only briefly unwell).
    refused: Mutex<BTreeSet<String>>,
}

/// The next number of a splitmix64 sequence, as a share in `[0, 1)`.
fn draw(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits, exactly representable.
    (z >> 11) as f64 / (1u64 << 53) as f64
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
    pub fn start(mut sim: Sim, listen: &str, options: ServeOptions) -> Result<Server, CloudError> {
        options.check().map_err(CloudError::Rejected)?;
        // The platform hands out UUIDs, and the `kakaocloud` backend checks for them.
        sim.hand_out_platform_ids();
        let http = tiny_http::Server::http(listen)
            .map_err(|e| CloudError::Unavailable(format!("cannot listen on {listen}: {e}")))?;
        let addr = http.server_addr().to_ip().ok_or_else(|| {
            CloudError::Unavailable(format!("{listen} is not an IP address to listen on"))
        })?;
        let http = Arc::new(http);
        let options_seed = options.seed;
        let shared = Arc::new(Shared {
            sim,
            options,
            tokens: Mutex::new(BTreeSet::new()),
            stats: Mutex::new(ServerStats::default()),
            draws: Mutex::new(options_seed),
            refused: Mutex::new(BTreeSet::new()),
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
    let route = shared.options.log.then(|| {
        let url = request.url();
        let path = url.split_once('?').map_or(url, |(p, _)| p);
        format!(
            "{} {}",
            request.method().as_str().to_ascii_uppercase(),
            path
        )
    });
    let reply =
        catch_unwind(AssertUnwindSafe(|| handle(shared, &mut request))).unwrap_or_else(|_| {
            Reply::error(
                500,
                "internal_error",
                "the simulator failed while answering this request",
            )
        });
    if let Some(route) = route {
        let what = if reply.lost {
            " (carried out; answer lost)"
        } else if reply.injected {
            " (injected)"
        } else {
            ""
        };
        // One line per request, written whole.
        let line = format!("{route} {}{what}\n", reply.status);
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }
    let _ = reply.write(request.into_writer());
}

/// One HTTP answer.
struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    /// The call was carried out, but its answer is lost on the way.
    lost: bool,
    /// The answer is an injected fault.
    injected: bool,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
            lost: false,
            injected: false,
        }
    }

    fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
            headers: Vec::new(),
            lost: false,
            injected: false,
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
        if self.lost {
            // No status line: the client cannot read an answer and drops the
            // connection.
            writer.write_all(b"\x00 connection lost\r\n\r\n")?;
            return writer.flush();
        }
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
        return routes::issue_token(shared, &body).unwrap_or_else(|e| e);
    }
    let Some(rest) = path
        .strip_prefix(API_PREFIX)
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return Reply::error(404, "not_found", format!("no such path: {path}"));
    };
    let lose = match inject_fault(shared, &format!("{method} {path}")) {
        Fault::Answer(mut fault) => {
            fault.injected = true;
            return fault;
        }
        Fault::LoseAnswer => true,
        Fault::None => false,
    };
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
        routes::route(shared, &method, &segments, &query, &body)
    });
    let mut reply = result.unwrap_or_else(|e| e);
    reply.lost = lose;
    reply
}

/// What happens to one API request by the injected faults.
enum Fault {
    /// It is answered as usual.
    None,
    /// It is answered with this fault and never reaches the simulator.
    Answer(Reply),
    /// It is carried out and its answer lost.
    LoseAnswer,
}

/// Counts an API request (`request`: its method and path) and decides its fault: by
/// its number (`fail_every`, `throttle_every`), else by one draw against the rates. A
/// request that an injected 503 or 429 refused the last time it came is not refused
/// by them again.
fn inject_fault(shared: &Shared, request: &str) -> Fault {
    let options = &shared.options;
    let mut stats = guard(&shared.stats);
    stats.api_requests += 1;
    let n = stats.api_requests;
    let repeated = guard(&shared.refused).remove(request);
    let hits = |every: Option<u32>| {
        !repeated && every.is_some_and(|e| e > 0 && n.is_multiple_of(u64::from(e)))
    };
    let share = if options.fail_rate + options.throttle_rate + options.drop_rate > 0.0 {
        draw(&mut guard(&shared.draws))
    } else {
        1.0
    };
    // A repeated request draws as the others do, and is spared the refusals only.
    let refusal = |rate: f64| !repeated && share < rate;
    if hits(options.fail_every) || refusal(options.fail_rate) {
        guard(&shared.refused).insert(request.to_string());
        stats.injected_failures += 1;
        return Fault::Answer(Reply::error(
            503,
            "service_unavailable",
            "injected fault: the service is unavailable, retry later",
        ));
    }
    if hits(options.throttle_every) || refusal(options.fail_rate + options.throttle_rate) {
        guard(&shared.refused).insert(request.to_string());
        stats.injected_throttles += 1;
        return Fault::Answer(
            Reply::error(
                429,
                "too_many_requests",
                "injected fault: too many requests, retry later",
            )
            .with_header("Retry-After", "0".to_string()),
        );
    }
    let refusals = options.fail_rate + options.throttle_rate;
    if share >= refusals && share < refusals + options.drop_rate {
        stats.dropped_answers += 1;
        return Fault::LoseAnswer;
    }
    Fault::None
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

fn inventory(shared: &Shared) -> Result<Inventory, Reply> {
    shared.sim.inventory().map_err(refused(Refusal::Invalid))
}

/// What a read of the object with this ID needs, without the rest of the world.
fn near(shared: &Shared, id: &str) -> Result<Inventory, Reply> {
    shared
        .sim
        .inventory_near(&[id])
        .map_err(refused(Refusal::Invalid))
}

fn not_found(kind: &'static str, id: &str) -> Reply {
    let e = CloudError::NotFound {
        kind,
        id: id.to_string(),
    };
    Reply::error(404, "not_found", e.to_string())
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
        use crate::catalogue::{self, InstanceType};
        for t in catalogue::CATALOGUE {
            assert_eq!(
                routes::flavor_by_id(&flavor_id(t)).map(InstanceType::name),
                Some(t.name())
            );
        }
        assert!(routes::flavor_by_id("m2a.large").is_none());
    }
}
