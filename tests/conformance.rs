//! `sim serve` against the platform's shapes: every call the `kakaocloud` backend
//! makes is sent to the server over HTTP, with a body made from the platform's request
//! fixture, and every answer must have exactly the fields of the fixture for that call
//! (`tests/fixtures/kakaocloud/`), with the same JSON types, at every level, and no
//! `null` where the platform gives a value except where the platform itself leaves
//! one. `tests/wire.rs` holds the wire types to the same fixtures, so a change to
//! either side that breaks the other fails here or there.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::{Nulls, fixture, shape_differences};
use nicplan::cloud::serve::{ServeOptions, Server};
use nicplan::cloud::sim::Sim;

const ID: &str = "conformance-credential";
const SECRET: &str = "conformance-secret-3b1f";

/// Fields the simulator may leave `null` although the fixture shows a value. The
/// platform's model lets every one of them be `null`; each is `null` here for a reason.
const NULLABLE: &[&str] = &[
    // Nothing holds the NIC, nor a public IP it: a NIC not attached, a public IP not
    // associated.
    ".network_interface.device_id",
    ".network_interfaces[].device_id",
    ".network_interface.device_owner",
    ".network_interfaces[].device_owner",
    ".network_interfaces[].public_ip",
    ".addresses[].public_ip",
    ".public_ip.private_ip",
    ".public_ips[].private_ip",
    ".public_ip.related_resource",
    ".public_ips[].related_resource",
    // Not modelled: the internet gateway's NAT address, the flavors' hardware figures
    // (the limit table holds none), images, volumes beyond the root volume's presence,
    // users and key pairs (`key_name` is accepted and ignored).
    ".igw.nat_ip",
    ".vcpus",
    ".real_vcpus",
    ".memory_mb",
    ".manufacturer",
    ".processor",
    ".available",
    ".os_distro",
    ".disk_type",
    "flavor.description",
    "flavors[].description",
    ".image.description",
    ".image.disk_format",
    ".image.image_type",
    ".image.min_disk",
    ".image.min_memory",
    ".image.os_admin",
    ".image.os_architecture",
    ".image.os_type",
    ".image.owner",
    ".image.size",
    ".attached_volumes[].size",
    ".key_name",
    ".user_id",
];

/// A raw HTTP client that keeps the status, the headers and the body of each answer.
struct Client {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

/// One answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
    text: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Client {
    fn new(url: &str) -> Client {
        Client {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .new_agent(),
            url: url.to_string(),
            token: None,
        }
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("X-Api-Version", "1.3.0");
        if let Some(token) = &self.token {
            b = b.header("X-Auth-Token", token);
        }
        let response = match body {
            Some(body) => self.agent.run(
                b.header("Content-Type", "application/json")
                    .body(body.to_string().into_bytes())
                    .expect("request"),
            ),
            None if matches!(method, "POST" | "PUT") => {
                self.agent.run(b.body(Vec::new()).expect("request"))
            }
            None => self.agent.run(b.body(()).expect("request")),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = response.into_body().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    /// Sends a call, checks its status, and checks its answer against the fixture.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        status: u16,
        answer: &str,
        failures: &mut Vec<String>,
    ) -> Value {
        let got = self.send(method, path, body);
        if got.status != status {
            failures.push(format!(
                "{method} {path}: HTTP {} where the platform answers {status}: {}",
                got.status, got.text
            ));
            return got.body;
        }
        let mut out = Vec::new();
        shape_differences(
            answer,
            &fixture(answer),
            &got.body,
            Nulls::OnlyAt(NULLABLE),
            &mut out,
        );
        for d in out {
            failures.push(format!("{method} {path}: {d}"));
        }
        got.body
    }

    /// Sends a call that answers no body.
    fn no_content(&self, method: &str, path: &str, failures: &mut Vec<String>) {
        let got = self.send(method, path, None);
        if got.status != 204 || !got.text.is_empty() {
            failures.push(format!(
                "{method} {path}: HTTP {} {:?} where the platform answers 204 with no body",
                got.status, got.text
            ));
        }
    }
}

/// The fixture with `edits` (JSON pointer, value) applied; a `null` value removes the
/// field.
fn body(name: &str, edits: &[(&str, Value)]) -> Value {
    let mut v = fixture(name);
    for (pointer, value) in edits {
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        let target = v
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("{name}: no {parent}"));
        match (target, value) {
            (Value::Object(map), Value::Null) => {
                map.remove(key);
            }
            (Value::Object(map), value) => {
                map.insert(key.to_string(), value.clone());
            }
            _ => panic!("{name}: {parent} is not an object"),
        }
    }
    v
}

fn id_of(answer: &Value, key: &str) -> String {
    answer
        .pointer(&format!("/{key}/id"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {key}.id in {answer}"))
        .to_string()
}

fn server() -> Server {
    let mut sim = Sim::in_memory(false);
    sim.set_build_time(Duration::ZERO);
    Server::start(sim, "127.0.0.1:0", ServeOptions::new(ID, SECRET)).expect("server starts")
}

#[test]
fn every_answer_of_sim_serve_has_the_platforms_shape() {
    let server = server();
    let mut c = Client::new(&server.url());
    let mut f = Vec::new();
    let f = &mut f;

    // IAM: the token is in a header; the body is the token's description.
    let token_request = body(
        "iam.token.request",
        &[
            ("/auth/identity/application_credential/id", json!(ID)),
            (
                "/auth/identity/application_credential/secret",
                json!(SECRET),
            ),
        ],
    );
    let got = c.send("POST", "/identity/v3/auth/tokens", Some(&token_request));
    assert_eq!(got.status, 201, "{}", got.text);
    let mut out = Vec::new();
    shape_differences(
        "iam.token.answer",
        &fixture("iam.token.answer"),
        &got.body,
        Nulls::OnlyAt(NULLABLE),
        &mut out,
    );
    f.extend(out);
    for name in fixture("iam.token.answer.headers")
        .as_object()
        .expect("headers")
        .keys()
    {
        assert!(
            got.header(name).is_some_and(|v| !v.is_empty()),
            "no {name} header"
        );
    }
    c.token = got.header("X-Subject-Token").map(str::to_string);

    // VPC service. A VPC is made without its main subnet (the simulator makes none).
    let vpc = c.call(
        "POST",
        "/api/v1/vpcs",
        Some(&body(
            "vpc.create_vpc.request",
            &[("/vpc/subnet", Value::Null)],
        )),
        201,
        "vpc.create_vpc.answer",
        f,
    );
    let vpc_id = id_of(&vpc, "vpc");
    c.call(
        "GET",
        &format!("/api/v1/vpcs/{vpc_id}"),
        None,
        200,
        "vpc.get_vpc.answer",
        f,
    );
    c.call("GET", "/api/v1/vpcs", None, 200, "vpc.list_vpcs.answer", f);
    let subnet = c.call(
        "POST",
        "/api/v1/subnets",
        Some(&body(
            "vpc.create_subnet.request",
            &[("/subnet/vpc_id", json!(vpc_id))],
        )),
        201,
        "vpc.create_subnet.answer",
        f,
    );
    let subnet_id = id_of(&subnet, "subnet");
    c.call(
        "GET",
        &format!("/api/v1/subnets/{subnet_id}"),
        None,
        200,
        "vpc.get_subnet.answer",
        f,
    );
    c.call(
        "GET",
        "/api/v1/subnets",
        None,
        200,
        "vpc.list_subnets.answer",
        f,
    );

    // Network service: security groups.
    let group = c.call(
        "POST",
        "/api/v1/security-groups",
        Some(&fixture("network.create_security_group.request")),
        201,
        "network.create_security_group.answer",
        f,
    );
    let group_id = id_of(&group, "security_group");
    let other = c.call(
        "POST",
        "/api/v1/security-groups",
        Some(&body(
            "network.create_security_group.request",
            &[("/security_group/name", json!("db-sg"))],
        )),
        201,
        "network.create_security_group.answer",
        f,
    );
    let other_id = id_of(&other, "security_group");
    c.call(
        "GET",
        &format!("/api/v1/security-groups/{group_id}"),
        None,
        200,
        "network.get_security_group.answer",
        f,
    );
    c.call(
        "GET",
        "/api/v1/security-groups",
        None,
        200,
        "network.list_security_groups.answer",
        f,
    );
    c.call(
        "PUT",
        &format!("/api/v1/security-groups/{group_id}"),
        Some(&fixture("network.update_security_group.request")),
        200,
        "network.update_security_group.answer",
        f,
    );

    // Network interfaces: made, read, changed, given the pair that turns off the
    // source/destination check, read again with it, and cleared.
    let nic = c.call(
        "POST",
        "/api/v1/network-interfaces",
        Some(&body(
            "vpc.create_network_interface.request",
            &[
                ("/network_interface/subnet_id", json!(subnet_id)),
                ("/network_interface/security_groups", json!([group_id])),
            ],
        )),
        201,
        "vpc.create_network_interface.answer",
        f,
    );
    let nic_id = id_of(&nic, "network_interface");
    let nic_path = format!("/api/v1/network-interfaces/{nic_id}");
    c.call(
        "PUT",
        &nic_path,
        Some(&body(
            "vpc.update_network_interface.request",
            &[(
                "/network_interface/security_groups",
                json!([group_id, other_id]),
            )],
        )),
        200,
        "vpc.update_network_interface.answer",
        f,
    );
    c.call(
        "PUT",
        &format!("{nic_path}/allowed-address-pairs"),
        Some(&json!({"allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]})),
        200,
        "vpc.update_allowed_address_pairs.answer",
        f,
    );
    c.call(
        "GET",
        &nic_path,
        None,
        200,
        "vpc.get_network_interface.answer",
        f,
    );
    c.call(
        "GET",
        "/api/v1/network-interfaces",
        None,
        200,
        "vpc.list_network_interfaces.answer",
        f,
    );
    c.call(
        "PUT",
        &format!("{nic_path}/allowed-address-pairs"),
        Some(&fixture("vpc.update_allowed_address_pairs.request.clear")),
        200,
        "vpc.update_allowed_address_pairs.answer",
        f,
    );

    // Public IPs.
    let pip = c.call(
        "POST",
        "/api/v1/public-ips",
        Some(&fixture("network.create_public_ip.request")),
        201,
        "network.create_public_ip.answer",
        f,
    );
    let pip_id = id_of(&pip, "public_ip");
    let pip_path = format!("/api/v1/public-ips/{pip_id}");
    c.call(
        "GET",
        &pip_path,
        None,
        200,
        "network.get_public_ip.answer",
        f,
    );
    c.call(
        "GET",
        "/api/v1/public-ips",
        None,
        200,
        "network.list_public_ips.answer",
        f,
    );

    // BCS: flavors, and a VM around a NIC of its own.
    let flavors = c.call(
        "GET",
        "/api/v1/flavors?limit=1000",
        None,
        200,
        "bcs.list_flavors.answer",
        f,
    );
    let flavor_of = |kind: &str, name: &str| {
        flavors["flavors"]
            .as_array()
            .expect("flavors")
            .iter()
            .find(|fl| fl["instance_type"] == kind && (name.is_empty() || fl["name"] == name))
            .and_then(|fl| fl["id"].as_str())
            .unwrap_or_else(|| panic!("no {kind} flavor {name}"))
            .to_string()
    };
    let large = flavor_of("vm", "m2a.large");
    let xlarge = flavor_of("vm", "m2a.xlarge");
    c.call(
        "GET",
        &format!("/api/v1/flavors/{large}"),
        None,
        200,
        "bcs.get_flavor.answer",
        f,
    );
    let primary = c.call(
        "POST",
        "/api/v1/network-interfaces",
        Some(&body(
            "vpc.create_network_interface.request",
            &[
                ("/network_interface/name", json!("web-1-eth0")),
                ("/network_interface/private_ip", json!("10.0.1.10")),
                ("/network_interface/subnet_id", json!(subnet_id)),
                ("/network_interface/security_groups", json!([group_id])),
            ],
        )),
        201,
        "vpc.create_network_interface.answer",
        f,
    );
    let primary_id = id_of(&primary, "network_interface");
    let image = "ubuntu-22.04";
    let vm = c.call(
        "POST",
        "/api/v1/instances",
        Some(&body(
            "bcs.create_instance.request.vm",
            &[
                ("/instance/flavor_id", json!(large)),
                ("/instance/image_id", json!(image)),
                (
                    "/instance/subnets",
                    json!([{"id": subnet_id, "network_interface_id": primary_id}]),
                ),
                ("/instance/volumes/0/uuid", json!(image)),
                ("/instance/security_groups", json!([])),
            ],
        )),
        201,
        "bcs.create_instance.answer",
        f,
    );
    let vm_id = id_of(&vm, "instance");
    let vm_path = format!("/api/v1/instances/{vm_id}");
    c.call("GET", &vm_path, None, 200, "bcs.get_instance.answer", f);
    c.call(
        "GET",
        "/api/v1/instances",
        None,
        200,
        "bcs.list_instances.answer",
        f,
    );
    c.call(
        "POST",
        &format!("{vm_path}/network-interfaces/{nic_id}"),
        None,
        200,
        "bcs.attach_network_interface.answer",
        f,
    );
    c.call(
        "GET",
        &format!("{vm_path}/network-interfaces"),
        None,
        200,
        "bcs.list_instance_network_interfaces.answer",
        f,
    );
    c.call(
        "PUT",
        &format!("{pip_path}/network-interfaces/{primary_id}"),
        None,
        200,
        "network.associate_public_ip.answer",
        f,
    );
    c.call(
        "GET",
        &pip_path,
        None,
        200,
        "network.get_public_ip.answer",
        f,
    );
    c.call(
        "DELETE",
        &format!("{pip_path}/network-interfaces/{primary_id}"),
        None,
        200,
        "network.disassociate_public_ip.answer",
        f,
    );
    c.call(
        "DELETE",
        &format!("{vm_path}/network-interfaces/{nic_id}"),
        None,
        202,
        "bcs.detach_network_interface.answer",
        f,
    );
    c.call(
        "POST",
        &format!("{vm_path}/stop"),
        None,
        202,
        "bcs.stop_instance.answer",
        f,
    );
    c.call(
        "POST",
        &format!("{vm_path}/resize"),
        Some(&body(
            "bcs.resize_instance.request",
            &[("/flavor/id", json!(xlarge))],
        )),
        202,
        "bcs.resize_instance.answer",
        f,
    );
    c.call(
        "POST",
        &format!("{vm_path}/start"),
        None,
        202,
        "bcs.start_instance.answer",
        f,
    );

    // Bare metal takes no volume and may bond its NICs.
    let bm_nic = c.call(
        "POST",
        "/api/v1/network-interfaces",
        Some(&body(
            "vpc.create_network_interface.request",
            &[
                ("/network_interface/name", json!("db-bm-1-eth0")),
                ("/network_interface/private_ip", json!("10.0.1.20")),
                ("/network_interface/subnet_id", json!(subnet_id)),
                ("/network_interface/security_groups", json!([other_id])),
            ],
        )),
        201,
        "vpc.create_network_interface.answer",
        f,
    );
    let bm_nic_id = id_of(&bm_nic, "network_interface");
    let bm = c.call(
        "POST",
        "/api/v1/instances",
        Some(&body(
            "bcs.create_instance.request.baremetal",
            &[
                ("/instance/flavor_id", json!(flavor_of("bm", ""))),
                ("/instance/image_id", json!(image)),
                (
                    "/instance/subnets",
                    json!([{"id": subnet_id, "network_interface_id": bm_nic_id}]),
                ),
                ("/instance/security_groups", json!([])),
            ],
        )),
        201,
        "bcs.create_instance.answer",
        f,
    );
    let bm_id = id_of(&bm, "instance");

    // Errors: the envelope, and a body the service cannot validate.
    c.call(
        "GET",
        "/api/v1/vpcs/vpc-999999",
        None,
        404,
        "error.envelope",
        f,
    );
    c.call(
        "POST",
        "/api/v1/network-interfaces",
        Some(&body(
            "vpc.create_network_interface.request",
            &[("/network_interface/subnet_id", Value::Null)],
        )),
        422,
        "error.422",
        f,
    );

    // Deletes answer 204 with no body, innermost first. A NIC given to an instance
    // at its creation may go with it: deleted if it is still there, as a client must.
    for id in [&vm_id, &bm_id] {
        c.no_content("DELETE", &format!("/api/v1/instances/{id}"), f);
        let gone = c.send("GET", &format!("/api/v1/instances/{id}"), None);
        assert_eq!(gone.status, 404, "{}", gone.text);
    }
    c.no_content("DELETE", &nic_path, f);
    for id in [&primary_id, &bm_nic_id] {
        let path = format!("/api/v1/network-interfaces/{id}");
        match c.send("GET", &path, None).status {
            404 => {}
            _ => c.no_content("DELETE", &path, f),
        }
    }
    c.no_content("DELETE", &pip_path, f);
    for id in [&group_id, &other_id] {
        c.no_content("DELETE", &format!("/api/v1/security-groups/{id}"), f);
    }
    c.no_content("DELETE", &format!("/api/v1/subnets/{subnet_id}"), f);
    c.no_content("DELETE", &format!("/api/v1/vpcs/{vpc_id}"), f);
    assert!(
        f.is_empty(),
        "sim serve differs from the platform:\n{}",
        f.join("\n")
    );
    let world = server.sim().world().expect("world");
    assert!(world.vpcs.is_empty() && world.instances.is_empty() && world.nics.is_empty());
}
