//! The `kakaocloud` backend end to end, on loopback: `sim serve` (the simulator's REST
//! face) on 127.0.0.1, the backend pointed at it, plan and apply through the library.
//! Convergence, retries under injected faults, lost answers that must not duplicate,
//! credentials that never leak, refreshes that read in pages, the simulator's refusals
//! coming back word for word, and malformed requests that get a status and no panic.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nicplan::cloud::kakaocloud::{KakaoCloud, KakaoConfig};
use nicplan::cloud::serve::{ServeOptions, Server};
use nicplan::cloud::sim::Sim;
use nicplan::cloud::{Cloud, CloudError, InstanceRequest, NicRequest};
use nicplan::model::Model;
use nicplan::plan::Options;
use nicplan::spec::BackendKind;
use nicplan::state::memory::MemoryStore;
use nicplan::{Severity, apply, ops};

const ID: &str = "app-credential-7f3a";
const SECRET: &str = "very-secret-91c2e";

fn options() -> ServeOptions {
    ServeOptions::new(ID, SECRET)
}

fn server(options: ServeOptions) -> Server {
    let mut sim = Sim::in_memory(false);
    sim.set_build_time(Duration::ZERO);
    Server::start(sim, "127.0.0.1:0", options).expect("server starts")
}

fn client_with(url: &str, id: &str, secret: &str) -> KakaoCloud {
    let mut config = KakaoConfig::new(id, secret);
    config.endpoint = Some(url.to_string());
    config.timeout = Duration::from_secs(10);
    config.max_retries = 8;
    config.backoff = Duration::from_millis(1);
    KakaoCloud::new(config)
}

fn client(url: &str) -> KakaoCloud {
    client_with(url, ID, SECRET)
}

fn base() -> String {
    std::fs::read_to_string("tests/e2e/base.yaml").expect("base file")
}

fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in file");
    text.replacen(from, to, 1)
}

fn model_of(text: &str) -> Model {
    let v = nicplan::validate(
        "nicplan.yaml",
        text.as_bytes().to_vec(),
        Some(BackendKind::Kakaocloud),
    );
    assert!(!v.has_errors(), "{:#?}", v.diagnostics);
    v.model.expect("model")
}

fn apply_options() -> apply::Options {
    apply::Options {
        poll_interval: Duration::from_millis(5),
        timeouts: apply::Timeouts::all(Duration::from_secs(20)),
        ..apply::Options::default()
    }
}

/// Plans and applies `text`, then checks the next plan is empty.
fn converge(text: &str, store: &MemoryStore, cloud: &dyn Cloud) {
    let model = model_of(text);
    let planned = ops::plan(&model, store, cloud, true, &Options::default()).expect("plans");
    let errors: Vec<_> = planned
        .plan
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(!planned.plan.steps.is_empty(), "nothing to do");
    let (_, outcome) =
        ops::apply(planned, store, cloud, &apply_options(), &|_| {}).expect("applies");
    assert!(outcome.succeeded(), "{outcome:#?}");
    let again = ops::plan(&model, store, cloud, true, &Options::default()).expect("plans");
    assert!(again.drift.is_empty(), "drift {:#?}", again.drift);
    assert!(
        again.plan.steps.is_empty(),
        "second plan not empty: {:#?}",
        again
            .plan
            .steps
            .iter()
            .map(|s| s.describe())
            .collect::<Vec<_>>()
    );
}

/// The world as names: NIC name -> (instance name it is attached to, sdc), and so on.
struct Seen {
    nics: BTreeMap<String, (Option<String>, bool)>,
    instances: BTreeMap<String, (String, String)>,
    public: Vec<(String, Option<String>)>,
    subnets: usize,
    groups: usize,
}

fn seen(server: &Server) -> Seen {
    let w = server.sim().world().expect("world");
    let instance_name = |id: &str| w.instances.get(id).map(|i| i.name.clone());
    let nic_name = |id: &str| w.nics.get(id).map(|n| n.name.clone());
    Seen {
        nics: w
            .nics
            .values()
            .map(|n| {
                (
                    n.name.clone(),
                    (
                        n.device_id.as_deref().and_then(instance_name),
                        n.source_dest_check,
                    ),
                )
            })
            .collect(),
        instances: w
            .instances
            .values()
            .map(|i| {
                (
                    i.name.clone(),
                    (
                        i.flavor.clone(),
                        nic_name(&i.primary_nic_id).unwrap_or_default(),
                    ),
                )
            })
            .collect(),
        public: w
            .public_ips
            .values()
            .map(|p| (p.id.clone(), p.nic_id.as_deref().and_then(nic_name)))
            .collect(),
        subnets: w.subnets.len(),
        groups: w.security_groups.len(),
    }
}

fn assert_base(server: &Server) {
    let s = seen(server);
    assert_eq!(s.subnets, 3);
    assert_eq!(s.groups, 2);
    assert_eq!(s.nics.len(), 7, "{:#?}", s.nics);
    let on = |name: &str| s.nics.get(name).and_then(|(i, _)| i.clone());
    assert_eq!(on("web-1-eth0").as_deref(), Some("web-1"));
    assert_eq!(on("web-1-eth1").as_deref(), Some("web-1"));
    assert_eq!(on("web-1-eth2").as_deref(), Some("web-1"));
    assert_eq!(on("web-2-eth2").as_deref(), Some("web-2"));
    assert_eq!(on("spare"), None);
    assert_eq!(
        s.instances.get("web-1"),
        Some(&("m2a.large".to_string(), "web-1-eth0".to_string()))
    );
    assert_eq!(s.instances.len(), 2);
    assert_eq!(s.public.len(), 1);
    assert_eq!(s.public[0].1.as_deref(), Some("web-1-eth0"));
}

#[test]
fn the_base_network_converges_through_the_rest_api_and_so_do_changes() {
    let server = server(options());
    let cloud = client(&server.url());
    let store = MemoryStore::new();
    converge(&base(), &store, &cloud);
    assert_base(&server);

    // A full instance exchanges a NIC: web-1-eth2 leaves web-1, spare takes its place.
    let moved = edit(
        &base(),
        "    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1\n",
        "    subnet: mgmt-a\n    security_groups: [db-sg]\n",
    );
    let moved = edit(
        &moved,
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1\n    source_dest_check: false\n",
    );
    converge(&moved, &store, &cloud);
    let s = seen(&server);
    assert_eq!(s.nics["spare"], (Some("web-1".to_string()), false));
    assert_eq!(s.nics["web-1-eth2"], (None, true));

    // A resize that makes room, then the attach that needs it, and the public IP moves.
    let grown = edit(
        &moved,
        "    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: web-2-eth0",
        "    type: m2a.xlarge\n    image: ubuntu-22.04\n    primary_interface: web-2-eth0\n    lifecycle: { allow_stop: true }",
    );
    let grown = edit(
        &grown,
        "  web-1-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
        "  web-1-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-2\n",
    );
    let grown = edit(
        &grown,
        "    network_interface: web-1-eth0",
        "    network_interface: web-2-eth0",
    );
    converge(&grown, &store, &cloud);
    let s = seen(&server);
    assert_eq!(s.instances["web-2"].0, "m2a.xlarge");
    assert_eq!(s.nics["web-1-eth2"].0.as_deref(), Some("web-2"));
    assert_eq!(s.public.len(), 1);
    assert_eq!(s.public[0].1.as_deref(), Some("web-2-eth0"));

    // Back to where it started (shrinking web-2 again, which stops it), check on
    // again, and then everything goes.
    let back = edit(
        &base(),
        "    primary_interface: web-2-eth0",
        "    primary_interface: web-2-eth0\n    lifecycle: { allow_stop: true }",
    );
    converge(&back, &store, &cloud);
    assert_base(&server);
    assert!(seen(&server).nics["spare"].1);
    converge("version: 1\n", &store, &cloud);
    let w = server.sim().world().expect("world");
    assert!(w.nics.is_empty() && w.instances.is_empty() && w.vpcs.is_empty());
    server.stop();
}

#[test]
fn the_platform_hands_out_uuids_and_a_state_holding_anything_else_is_refused() {
    use nicplan::state::StateStore;
    let server = server(options());
    let cloud = client(&server.url());
    let store = MemoryStore::new();
    converge(&base(), &store, &cloud);
    let state = store.read().expect("reads").expect("a state");
    assert!(state.resources.len() > 10);
    for (address, entry) in &state.resources {
        assert!(
            nicplan::cloud::is_platform_id(&entry.id),
            "{address}: {}",
            entry.id
        );
    }
    // The simulator's own form of ID, as a state made with the embedded backend holds.
    let mut wrong = state.clone();
    let vpc = wrong
        .resources
        .iter_mut()
        .find(|(a, _)| a.to_string() == "vpc.main")
        .map(|(_, e)| e)
        .expect("vpc.main");
    vpc.id = "vpc-000001".to_string();
    let wrong_store = MemoryStore::new();
    wrong_store.write(&mut wrong).expect("writes");
    let world = server.sim().world().expect("world");
    let Err(err) = ops::plan(
        &model_of(&base()),
        &wrong_store,
        &cloud,
        true,
        &Options::default(),
    ) else {
        panic!("a state with a simulator's ID planned against the platform");
    };
    assert_eq!(
        err.to_string(),
        "the state holds vpc.main with ID vpc-000001, which the kakaocloud backend could not have made (the platform's vpc IDs are UUIDs, such as 3f2a9c1e-7b4d-4e21-9a3c-5d0e1f2a3b4c); nothing was read or changed. Use the backend the state was made with, or remove the entry (`nicplan state rm vpc.main`)"
    );
    assert_eq!(server.sim().world().expect("world"), world);
    // The state as it was still converges.
    let again = ops::plan(
        &model_of(&base()),
        &store,
        &cloud,
        true,
        &Options::default(),
    )
    .expect("plans");
    assert!(again.plan.steps.is_empty());
    server.stop();
}

#[test]
fn changes_the_platform_finishes_later_are_waited_for_over_the_wire() {
    // Every change takes a while, as on the platform: VPCs and subnets provision,
    // instances build, stop, resize and start, NICs and public IPs attach, deletes
    // finish later. The backend reads each object back until it shows the change.
    let mut sim = Sim::in_memory(false);
    sim.set_delays(nicplan::cloud::sim::Delays::all(15));
    let server = Server::start(sim, "127.0.0.1:0", options()).expect("server starts");
    let cloud = client(&server.url());
    let store = MemoryStore::new();
    converge(&base(), &store, &cloud);
    assert_base(&server);
    let grown = edit(
        &base(),
        "    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: web-2-eth0",
        "    type: m2a.xlarge\n    image: ubuntu-22.04\n    primary_interface: web-2-eth0\n    lifecycle: { allow_stop: true }",
    );
    converge(&grown, &store, &cloud);
    let w = server.sim().world().expect("world");
    let web2 = w
        .instances
        .values()
        .find(|i| i.name == "web-2")
        .expect("web-2");
    assert_eq!(web2.flavor, "m2a.xlarge");
    assert_eq!(web2.status, nicplan::resource::Status::Active);
    converge("version: 1\n", &store, &cloud);
    let w = server.sim().world().expect("world");
    assert!(w.nics.is_empty() && w.instances.is_empty() && w.vpcs.is_empty());
    assert!(w.pending.is_empty(), "{:?}", w.pending);
    let stats = server.stats();
    let calls = |method: &str, tail: &str| -> u64 {
        stats
            .by_route
            .iter()
            .filter(|(route, _)| route.starts_with(method) && route.ends_with(tail))
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(calls("POST ", "/stop"), 1, "{stats:#?}");
    assert_eq!(calls("POST ", "/start"), 1, "{stats:#?}");
    // Each VPC and subnet was read back until ACTIVE, and each delete until gone.
    let reads = |prefix: &str| -> u64 {
        stats
            .by_route
            .iter()
            .filter(|(route, _)| route.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    };
    assert!(reads("GET /api/v1/vpcs/") >= 2, "{stats:#?}");
    assert!(reads("GET /api/v1/subnets/") >= 6, "{stats:#?}");
    server.stop();
}

#[test]
fn injected_faults_are_retried_until_the_apply_succeeds() {
    let server = server(ServeOptions {
        fail_every: Some(3),
        throttle_every: Some(5),
        ..options()
    });
    // Ten steps at once share the fault counter, so one call may meet several faults in
    // a row: allow it plenty of attempts.
    let mut config = KakaoConfig::new(ID, SECRET);
    config.endpoint = Some(server.url());
    config.max_retries = 30;
    config.backoff = Duration::from_millis(1);
    let cloud = KakaoCloud::new(config);
    let store = MemoryStore::new();
    converge(&base(), &store, &cloud);
    assert_base(&server);
    let stats = server.stats();
    assert!(stats.injected_failures >= 10, "{stats:#?}");
    assert!(stats.injected_throttles >= 5, "{stats:#?}");
    // Nothing twice, although a third of the calls failed.
    assert_eq!(server.sim().world().expect("world").counter, 16);
}

#[test]
fn a_lost_answer_after_the_platform_acted_makes_no_duplicate() {
    let server = server(options());
    // Every second change goes through to the platform, but its answer is lost (502).
    let proxy = Proxy::start(&server.url(), 2);
    let cloud = client(&proxy.url);
    let store = MemoryStore::new();
    converge(&base(), &store, &cloud);
    assert!(proxy.lost.load(Ordering::SeqCst) >= 10);
    assert_base(&server);
    // Exactly one object per create: 1 VPC, 3 subnets, 2 groups, 7 NICs, 2 instances,
    // 1 public IP.
    assert_eq!(server.sim().world().expect("world").counter, 16);

    let moved = edit(
        &base(),
        "    network_interface: web-1-eth0",
        "    network_interface: web-2-eth0",
    );
    converge(&moved, &store, &cloud);
    converge("version: 1\n", &store, &cloud);
    assert!(server.sim().world().expect("world").nics.is_empty());
    proxy.stop();
}

#[test]
fn a_lost_answer_to_each_kind_of_create_makes_no_second_object() {
    let server = server(options());
    // The first create of every kind goes through and its answer is lost. VPCs and
    // subnets take no description: they are recognised by name and block (and zone
    // and VPC) among the objects that were not there before the call.
    let mut first = BTreeMap::<String, bool>::new();
    let proxy = Proxy::losing(
        &server.url(),
        Box::new(move |method, url, _| {
            let path = url.split('?').next().unwrap_or_default();
            let collection = path.strip_prefix("/api/v1/").unwrap_or_default();
            method == "POST"
                && !collection.contains('/')
                && first.insert(collection.to_string(), true).is_none()
        }),
    );
    let cloud = client(&proxy.url);
    let store = MemoryStore::new();
    converge(&base(), &store, &cloud);
    // VPC, subnet, security group, NIC, instance, public IP.
    assert_eq!(proxy.lost.load(Ordering::SeqCst), 6);
    assert_base(&server);
    let world = server.sim().world().expect("world");
    assert_eq!(world.vpcs.len(), 1);
    assert_eq!(world.subnets.len(), 3);
    assert_eq!(world.counter, 16);
    drop(world);
    converge("version: 1\n", &store, &cloud);
    let world = server.sim().world().expect("world");
    assert!(world.vpcs.is_empty() && world.subnets.is_empty());
    drop(world);
    proxy.stop();
}

#[test]
fn wrong_credentials_fail_clearly_on_the_first_call_and_leak_nothing() {
    let server = server(options());
    let cloud = client_with(&server.url(), ID, "not-the-secret-44");
    let err = cloud.inventory().expect_err("refused");
    assert!(
        matches!(err, CloudError::Rejected(_) | CloudError::Unavailable(_)),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("application credential"), "{text}");
    assert!(
        text.contains("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET"),
        "{text}"
    );
    for secret in [SECRET, "not-the-secret-44", ID] {
        assert!(!text.contains(secret), "{text}");
        assert!(!format!("{err:?}").contains(secret));
    }
    assert_eq!(server.stats().api_requests, 0);

    // With the right credential, neither errors nor Debug output show the token.
    let cloud = client(&server.url());
    let err = cloud.instance("i-999999").expect_err("no such instance");
    assert_eq!(
        err,
        CloudError::NotFound {
            kind: "instance",
            id: "i-999999".to_string()
        }
    );
    let tokens = server.issued_tokens();
    assert_eq!(tokens.len(), 1);
    let shown = format!("{cloud:?} {err:?} {err}");
    for secret in [SECRET, ID, tokens[0].as_str()] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn an_expired_token_is_renewed_once_and_the_call_goes_through() {
    let server = server(options());
    let cloud = client(&server.url());
    cloud.inventory().expect("reads");
    server.revoke_tokens();
    cloud.inventory().expect("reads after renewing");
    assert_eq!(server.stats().token_requests, 2);
}

#[test]
fn a_refresh_reads_in_pages_never_one_object_at_a_time() {
    let server = server(options());
    let sim = server.sim();
    let vpc = sim
        .create_vpc("main", "10.0.0.0/16".parse().expect("cidr"))
        .expect("vpc");
    let subnet = sim
        .create_subnet(
            "big",
            &vpc.id,
            "10.0.0.0/20".parse().expect("cidr"),
            "kr-central-2-a",
        )
        .expect("subnet");
    for i in 0..250 {
        sim.create_security_group(&format!("g{i}"), "")
            .expect("group");
    }
    let mut nics = Vec::new();
    for i in 0..150 {
        let nic = sim
            .create_nic(&NicRequest {
                name: format!("n{i}"),
                description: String::new(),
                subnet_id: subnet.id.clone(),
                private_ip: None,
                secondary_ips: Vec::new(),
                security_group_ids: Vec::new(),
                source_dest_check: true,
            })
            .expect("nic");
        nics.push(nic.id);
    }
    for nic in nics.iter().take(120) {
        let public = sim.create_public_ip("").expect("public ip");
        sim.associate_public_ip(&public.id, nic, None)
            .expect("associates");
    }
    let before = server.stats();
    let cloud = client(&server.url());
    let inventory = cloud.inventory().expect("reads");
    // Everything but the quotas, which the platform's API has no call for.
    let mut direct = sim.inventory().expect("sim reads");
    assert!(direct.quotas.is_some(), "the simulator itself knows them");
    direct.quotas = None;
    assert_eq!(inventory, direct);
    let stats = server.stats();
    let calls = |route: &str| stats.count(route) - before.count(route);
    assert_eq!(calls("GET /api/v1/security-groups"), 3); // 250 objects, 100 a page
    assert_eq!(calls("GET /api/v1/network-interfaces"), 2); // 150
    assert_eq!(calls("GET /api/v1/public-ips"), 2); // 120
    assert_eq!(calls("GET /api/v1/vpcs"), 1);
    assert_eq!(calls("GET /api/v1/subnets"), 1);
    assert_eq!(calls("GET /api/v1/instances"), 1);
    assert_eq!(stats.api_requests - before.api_requests, 10, "{stats:#?}");
}

#[test]
fn a_rule_the_simulator_enforces_comes_back_rejected_with_its_words() {
    let server = server(options());
    let cloud = client(&server.url());
    let vpc = cloud
        .create_vpc("main", "10.0.0.0/16".parse().expect("cidr"))
        .expect("vpc");
    let subnet = cloud
        .create_subnet(
            "a",
            &vpc.id,
            "10.0.1.0/24".parse().expect("cidr"),
            "kr-central-2-a",
        )
        .expect("subnet");
    let sg = cloud.create_security_group("web", "").expect("group");
    let nic = |name: &str| {
        cloud
            .create_nic(&NicRequest {
                name: name.to_string(),
                description: String::new(),
                subnet_id: subnet.id.clone(),
                private_ip: None,
                secondary_ips: Vec::new(),
                security_group_ids: vec![sg.id.clone()],
                source_dest_check: true,
            })
            .expect("nic")
    };
    let eth0 = nic("eth0");
    assert_eq!(eth0.private_ip, Ipv4Addr::new(10, 0, 1, 2));
    let instance = cloud
        .create_instance(&InstanceRequest {
            name: "web".to_string(),
            description: String::new(),
            flavor: "m2a.large".to_string(),
            image: "ubuntu-22.04".to_string(),
            primary_nic_id: eth0.id.clone(),
            root_volume_gb: 50,
            bonding: false,
        })
        .expect("instance");
    assert_eq!(instance.flavor, "m2a.large");
    assert_eq!(instance.primary_nic_id, eth0.id);
    assert_eq!(cloud.instance(&instance.id).expect("reads"), instance);
    for name in ["eth1", "eth2"] {
        cloud
            .attach_nic(&instance.id, &nic(name).id)
            .expect("attaches");
    }
    let eth3 = nic("eth3");
    let err = cloud
        .attach_nic(&instance.id, &eth3.id)
        .expect_err("beyond capacity");
    assert_eq!(
        err,
        CloudError::Rejected(format!(
            "KakaoCloud refused POST /instances/{}/network-interfaces/{} (HTTP 409) conflict: \
             instance {} (web) already holds 3 network interfaces, the most flavor m2a.large allows",
            instance.id, eth3.id, instance.id
        ))
    );
    // The primary is never detached, and a flavor the platform does not offer is refused.
    let err = cloud
        .detach_nic(&instance.id, &eth0.id)
        .expect_err("primary");
    assert!(
        matches!(&err, CloudError::Rejected(m) if m.contains("(HTTP 409) conflict: the primary network interface cannot be detached")),
        "{err:?}"
    );
    let err = cloud
        .resize_instance(&instance.id, "m2a.huge")
        .expect_err("no such flavor");
    assert!(
        matches!(&err, CloudError::Rejected(m) if m.contains("m2a.huge")),
        "{err:?}"
    );
    let err = cloud
        .create_nic(&NicRequest {
            name: "multi".to_string(),
            description: String::new(),
            subnet_id: subnet.id.clone(),
            private_ip: None,
            secondary_ips: vec![Ipv4Addr::new(10, 0, 1, 50)],
            security_group_ids: vec![sg.id.clone()],
            source_dest_check: true,
        })
        .expect_err("one IP per NIC");
    assert!(matches!(err, CloudError::Rejected(_)), "{err:?}");
    assert!(!cloud.multiple_ips());
    assert_eq!(cloud.name(), "kakaocloud");
    // The world is as the accepted calls left it.
    let w = server.sim().world().expect("world");
    assert_eq!(w.nics.len(), 4);
    assert_eq!(
        w.nics
            .values()
            .filter(|n| n.device_id.as_deref() == Some(instance.id.as_str()))
            .count(),
        3
    );
}

/// A raw client for the malformed-request checks.
struct Raw {
    agent: ureq::Agent,
    url: String,
}

impl Raw {
    fn new(url: &str) -> Raw {
        Raw {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .new_agent(),
            url: url.to_string(),
        }
    }

    /// Sends a request; the status and the parsed body.
    fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, serde_json::Value) {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        if let Some(token) = token {
            b = b.header("X-Auth-Token", token);
        }
        let response = match body {
            Some(body) => self
                .agent
                .run(b.body(body).expect("request"))
                .expect("answer"),
            None => self
                .agent
                .run(b.body(()).expect("request"))
                .expect("answer"),
        };
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or_default())
    }

    fn token(&self) -> String {
        let body = serde_json::json!({"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": ID, "secret": SECRET},
        }}});
        let response = self
            .agent
            .post(format!("{}/identity/v3/auth/tokens", self.url))
            .send_json(body)
            .expect("token");
        assert_eq!(response.status().as_u16(), 201);
        response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .expect("token header")
            .to_string()
    }
}

#[test]
fn malformed_requests_get_a_status_and_the_server_keeps_serving() {
    let server = server(options());
    let raw = Raw::new(&server.url());
    let token = raw.token();
    let t = Some(token.as_str());
    let error_shaped = |(status, body): (u16, serde_json::Value), want: u16| {
        assert_eq!(status, want, "{body}");
        assert!(body.pointer("/error/code").is_some(), "{body}");
        assert!(body.pointer("/error/message").is_some(), "{body}");
    };
    error_shaped(raw.send("GET", "/api/v1/vpcs", None, None), 401);
    // A POST without a body goes chunked; refused unread, it must not garble the next
    // request on the same connection.
    for _ in 0..3 {
        error_shaped(
            raw.send("POST", "/api/v1/instances/i-1/resize", None, None),
            401,
        );
        assert_eq!(raw.send("GET", "/api/v1/vpcs", t, None).0, 200);
    }
    error_shaped(raw.send("GET", "/api/v1/vpcs", Some("forged"), None), 401);
    // A body that does not fit its call is a 422 naming the field, as the platform
    // answers.
    let unfit = |(status, body): (u16, serde_json::Value), loc: serde_json::Value| {
        assert_eq!(status, 422, "{body}");
        assert_eq!(body.pointer("/detail/0/loc"), Some(&loc), "{body}");
        assert!(body.pointer("/detail/0/msg").is_some(), "{body}");
    };
    unfit(
        raw.send("POST", "/api/v1/vpcs", t, Some(b"{not json".to_vec())),
        serde_json::json!(["body"]),
    );
    unfit(
        raw.send(
            "POST",
            "/api/v1/vpcs",
            t,
            Some(b"{\"vpc\": {\"name\": 7}}".to_vec()),
        ),
        serde_json::json!(["body", "vpc", "name"]),
    );
    unfit(
        raw.send(
            "POST",
            "/api/v1/vpcs",
            t,
            Some(br#"{"vpc": {"name": "x"}}"#.to_vec()),
        ),
        serde_json::json!(["body", "vpc", "cidr_block"]),
    );
    unfit(
        raw.send(
            "POST",
            "/api/v1/vpcs",
            t,
            Some(br#"{"vpc": {"name": "x", "cidr_block": "10.0.0.0/33"}}"#.to_vec()),
        ),
        serde_json::json!(["body", "vpc", "cidr_block"]),
    );
    unfit(
        raw.send("POST", "/api/v1/vpcs", t, None),
        serde_json::json!(["body"]),
    );
    error_shaped(raw.send("GET", "/api/v1/nothing-here", t, None), 404);
    error_shaped(raw.send("GET", "/elsewhere", t, None), 404);
    error_shaped(raw.send("GET", "/api/v1/vpcs/vpc-999999", t, None), 404);
    error_shaped(raw.send("PATCH", "/api/v1/vpcs", t, None), 405);
    error_shaped(raw.send("GET", "/api/v1/vpcs?limit=lots", t, None), 400);
    error_shaped(raw.send("GET", "/api/v1/vpcs?limit=0", t, None), 400);
    error_shaped(raw.send("GET", "/api/v1/vpcs/%zz", t, None), 400);
    unfit(
        raw.send(
            "POST",
            "/identity/v3/auth/tokens",
            None,
            Some(b"[]".to_vec()),
        ),
        serde_json::json!(["body"]),
    );
    let wrong = serde_json::json!({"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": ID, "secret": "nope-nope"},
    }}});
    let (status, body) = raw.send(
        "POST",
        "/identity/v3/auth/tokens",
        None,
        Some(wrong.to_string().into_bytes()),
    );
    assert_eq!(status, 401);
    assert!(!body.to_string().contains(SECRET));
    error_shaped(
        raw.send("POST", "/api/v1/vpcs", t, Some(vec![b' '; 2 * 1024 * 1024])),
        413,
    );
    // Refusals of the simulator: 400 for a create, 409 for a conflicting change.
    let (status, body) = raw.send(
        "POST",
        "/api/v1/vpcs",
        t,
        Some(br#"{"vpc": {"name": "x", "cidr_block": "10.0.0.0/8"}}"#.to_vec()),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.pointer("/error/message")
            .and_then(|m| m.as_str())
            .is_some_and(|m| m.contains("between /16 and /24")),
        "{body}"
    );
    // The platform's VPC create takes no description: a field outside the call's
    // model is refused, not ignored.
    unfit(
        raw.send(
            "POST",
            "/api/v1/vpcs",
            t,
            Some(
                br#"{"vpc": {"name": "x", "description": "d", "cidr_block": "10.0.0.0/16"}}"#
                    .to_vec(),
            ),
        ),
        serde_json::json!(["body", "vpc", "description"]),
    );
    let (status, body) = raw.send(
        "POST",
        "/api/v1/vpcs",
        t,
        Some(br#"{"vpc": {"name": "x", "cidr_block": "10.0.0.0/16"}}"#.to_vec()),
    );
    assert_eq!(status, 201, "{body}");
    let vpc = body
        .pointer("/vpc/id")
        .and_then(|v| v.as_str())
        .expect("id");
    raw.send(
        "POST",
        "/api/v1/subnets",
        t,
        Some(
            format!(
                r#"{{"subnet": {{"name": "s", "vpc_id": "{vpc}", "cidr_block": "10.0.1.0/24", "availability_zone": "kr-central-2-a"}}}}"#
            )
            .into_bytes(),
        ),
    );
    error_shaped(
        raw.send("DELETE", &format!("/api/v1/vpcs/{vpc}"), t, None),
        409,
    );
    // Lists page and filter.
    let (status, body) = raw.send("GET", "/api/v1/vpcs?limit=1&offset=0&name=x", t, None);
    assert_eq!(status, 200);
    assert_eq!(
        body.pointer("/pagination/total"),
        Some(&serde_json::json!(1))
    );
    let (_, body) = raw.send("GET", "/api/v1/flavors?limit=2&offset=1", t, None);
    assert_eq!(body["flavors"].as_array().map(Vec::len), Some(2));
    // Still serving.
    client(&server.url()).inventory().expect("reads");
}

/// A proxy in front of the server that lets every `every`-th change through to the
/// platform and then loses its answer, replying 502 instead, as a broken gateway
/// would.
struct Proxy {
    url: String,
    lost: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    http: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

/// Which successful changes a [`Proxy`] loses the answer to: given the method and the
/// path, and how many successful changes it has seen before.
type Lose = Box<dyn FnMut(&str, &str, u64) -> bool + Send>;

impl Proxy {
    /// Loses the answer to every `every`-th successful change.
    fn start(target: &str, every: u64) -> Proxy {
        Proxy::losing(
            target,
            Box::new(move |_, _, seen| (seen + 1).is_multiple_of(every)),
        )
    }

    fn losing(target: &str, mut lose: Lose) -> Proxy {
        let http = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("proxy listens"));
        let addr = http.server_addr().to_ip().expect("ip");
        let lost = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (http, lost, stop) = (Arc::clone(&http), Arc::clone(&lost), Arc::clone(&stop));
            let target = target.to_string();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .new_agent();
                let mut changes = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let Ok(Some(mut request)) = http.recv_timeout(Duration::from_millis(20)) else {
                        continue;
                    };
                    let method = request.method().as_str().to_string();
                    let url = request.url().to_string();
                    let mut body = Vec::new();
                    let _ = request.as_reader().read_to_end(&mut body);
                    let mut b = ureq::http::Request::builder()
                        .method(method.as_str())
                        .uri(format!("{target}{url}"));
                    for h in request.headers() {
                        let name = h.field.as_str().as_str();
                        if name.eq_ignore_ascii_case("x-auth-token")
                            || name.eq_ignore_ascii_case("content-type")
                        {
                            b = b.header(name, h.value.as_str());
                        }
                    }
                    let forwarded = if body.is_empty() {
                        agent.run(b.body(()).expect("request"))
                    } else {
                        agent.run(b.body(body).expect("request"))
                    };
                    let Ok(mut response) = forwarded else {
                        continue;
                    };
                    let status = response.status().as_u16();
                    let token = response
                        .headers()
                        .get("x-subject-token")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let text = response.body_mut().read_to_string().unwrap_or_default();
                    let is_change = method != "GET" && url.starts_with("/api/v1/");
                    let (status, text) = if is_change && status < 300 {
                        changes += 1;
                        if lose(&method, &url, changes - 1) {
                            lost.fetch_add(1, Ordering::SeqCst);
                            (
                                502,
                                r#"{"error": {"code": "bad_gateway", "message": "lost"}}"#
                                    .to_string(),
                            )
                        } else {
                            (status, text)
                        }
                    } else {
                        (status, text)
                    };
                    // Written raw, to close the connection after each answer as the
                    // server does (tiny_http refuses a Connection header).
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n",
                        if status == 204 { 0 } else { text.len() }
                    );
                    if let Some(token) = token {
                        head.push_str(&format!("X-Subject-Token: {token}\r\n"));
                    }
                    head.push_str("\r\n");
                    if status != 204 {
                        head.push_str(&text);
                    }
                    let mut writer = request.into_writer();
                    let _ = writer.write_all(head.as_bytes());
                    let _ = writer.flush();
                }
            })
        };
        Proxy {
            url: format!("http://{addr}"),
            lost,
            stop,
            http,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.http.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_slow_or_absent_platform_is_unavailable_after_bounded_retries() {
    // Slower than the client waits: every attempt times out, and the client gives up.
    let slow = server(ServeOptions {
        latency: Duration::from_millis(300),
        ..options()
    });
    let mut config = KakaoConfig::new(ID, SECRET);
    config.endpoint = Some(slow.url());
    config.timeout = Duration::from_millis(50);
    config.max_retries = 2;
    config.backoff = Duration::from_millis(1);
    let started = std::time::Instant::now();
    let err = KakaoCloud::new(config.clone())
        .inventory()
        .expect_err("times out");
    assert!(
        matches!(&err, CloudError::Unavailable(m) if m.contains("gave up after 3 attempts")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(slow.stats().token_requests, 3);
    // Nobody listening.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.local_addr().expect("addr").port()
    };
    config.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let err = KakaoCloud::new(config).inventory().expect_err("refused");
    assert!(matches!(err, CloudError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains(SECRET));
}
