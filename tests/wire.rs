//! The wire types against the platform's shapes: every fixture in
//! `tests/fixtures/kakaocloud/` (one per call, written from the SDK's models) decodes
//! into its type, and an answer type encodes exactly the fixture's fields, with the
//! same JSON types, at every level. `tests/kakaocloud.rs` holds `sim serve`'s answers
//! to the same shapes.

use serde::Serialize;
use serde::de::DeserializeOwned;
mod common;

use common::{Nulls, fixture, shape_differences};
use nicplan::cloud::wire::{self, bcs, iam, network, vpc};

/// Decodes the fixture into `T`, encodes it again, and checks the shapes agree.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let want = fixture(name);
    let value: T = serde_json::from_value(want.clone())
        .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    let got = serde_json::to_value(&value).expect("encodes");
    let mut out = Vec::new();
    shape_differences(name, &want, &got, Nulls::Match, &mut out);
    assert!(out.is_empty(), "{name}:\n{}", out.join("\n"));
    value
}

/// A request: it decodes, and what it encodes decodes to the same value (requests
/// leave out the optional fields they do not set).
fn request<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(name: &str) -> T {
    let value: T = serde_json::from_value(fixture(name))
        .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    let again: T = serde_json::from_value(serde_json::to_value(&value).expect("encodes"))
        .expect("decodes again");
    assert_eq!(again, value, "{name}");
    value
}

#[test]
fn vpc_service_answers_decode_and_keep_their_shapes() {
    let created: vpc::VpcCreatedAnswer = round_trip("vpc.create_vpc.answer");
    assert_eq!(created.inner.provisioning_status, "PENDING_CREATE");
    assert_eq!(created.inner.description, "");
    let got: vpc::VpcAnswer = round_trip("vpc.get_vpc.answer");
    assert_eq!(got.inner.cidr_block.as_deref(), Some("10.0.0.0/16"));
    let list: vpc::VpcList = round_trip("vpc.list_vpcs.answer");
    assert_eq!(list.items.len(), 2);
    assert_eq!(list.pagination.total, Some(2));
    round_trip::<vpc::SubnetCreatedAnswer>("vpc.create_subnet.answer");
    let subnet: vpc::SubnetAnswer = round_trip("vpc.get_subnet.answer");
    assert_eq!(
        subnet.inner.availability_zone.as_deref(),
        Some("kr-central-2-a")
    );
    round_trip::<vpc::SubnetList>("vpc.list_subnets.answer");
    // Written NICs carry security groups as ID strings, read ones as objects.
    let written: vpc::NicWrittenAnswer = round_trip("vpc.create_network_interface.answer");
    assert_eq!(
        written.inner.security_groups.as_deref(),
        Some(&["5d6e7f80-91a2-4b3c-8d4e-5f60718293a4".to_string()][..])
    );
    round_trip::<vpc::NicWrittenAnswer>("vpc.update_network_interface.answer");
    round_trip::<vpc::NicWrittenAnswer>("vpc.update_allowed_address_pairs.answer");
    let nic: vpc::NicAnswer = round_trip("vpc.get_network_interface.answer");
    let groups = nic.inner.security_groups.unwrap_or_default();
    assert_eq!(groups[0].name.as_deref(), Some("web-sg"));
    assert_eq!(nic.inner.allowed_address_pairs.map(|p| p.len()), Some(2));
    round_trip::<vpc::NicList>("vpc.list_network_interfaces.answer");
    // A thin answer is not a read's: decoding it as one fails, as on the platform.
    assert!(
        serde_json::from_value::<vpc::NicAnswer>(fixture("vpc.create_network_interface.answer"))
            .is_err()
    );
}

#[test]
fn network_service_answers_decode_and_keep_their_shapes() {
    round_trip::<network::SecurityGroupWrittenAnswer>("network.create_security_group.answer");
    round_trip::<network::SecurityGroupWrittenAnswer>("network.update_security_group.answer");
    round_trip::<network::SecurityGroupAnswer>("network.get_security_group.answer");
    round_trip::<network::SecurityGroupList>("network.list_security_groups.answer");
    let created: network::PublicIpWrittenAnswer = round_trip("network.create_public_ip.answer");
    assert_eq!(created.inner.status, "available");
    let associated: network::PublicIpWrittenAnswer =
        round_trip("network.associate_public_ip.answer");
    assert_eq!(associated.inner.status, "attaching");
    assert_eq!(associated.inner.private_ip, None);
    round_trip::<network::PublicIpWrittenAnswer>("network.disassociate_public_ip.answer");
    let got: network::PublicIpAnswer = round_trip("network.get_public_ip.answer");
    let related = got.inner.related_resource.expect("related resource");
    assert_eq!(related.kind.as_deref(), Some("network_interface"));
    round_trip::<network::PublicIpList>("network.list_public_ips.answer");
}

#[test]
fn bcs_answers_decode_and_keep_their_shapes() {
    let created: bcs::InstanceCreatedAnswer = round_trip("bcs.create_instance.answer");
    assert_eq!(created.inner.disk_config, "MANUAL");
    let got: bcs::InstanceAnswer = round_trip("bcs.get_instance.answer");
    let addresses = got.inner.addresses.unwrap_or_default();
    assert_eq!(addresses.len(), 2);
    assert_eq!(
        got.inner.flavor.and_then(|f| f.name).as_deref(),
        Some("m2a.large")
    );
    round_trip::<bcs::InstanceList>("bcs.list_instances.answer");
    round_trip::<bcs::NicAttachedAnswer>("bcs.attach_network_interface.answer");
    round_trip::<vpc::NicList>("bcs.list_instance_network_interfaces.answer");
    let flavors: bcs::FlavorList = round_trip("bcs.list_flavors.answer");
    assert!(
        flavors
            .items
            .iter()
            .any(|f| f.instance_type.as_deref() == Some("bm"))
    );
    round_trip::<bcs::FlavorAnswer>("bcs.get_flavor.answer");
}

#[test]
fn iam_and_errors_decode() {
    let token: iam::TokenAnswer = round_trip("iam.token.answer");
    assert_eq!(
        token.token.expires_at.as_deref(),
        Some("2025-03-04T17:06:07.000000Z")
    );
    let envelope: wire::ErrorEnvelope = round_trip("error.envelope");
    assert_eq!(envelope.error.code, "NotFound");
    let invalid: wire::ValidationErrors = round_trip("error.422");
    let words: Vec<String> = invalid
        .detail
        .unwrap_or_default()
        .iter()
        .map(wire::ValidationError::words)
        .collect();
    assert_eq!(
        words,
        [
            "network_interface.subnet_id: field required",
            "allowed_address_pairs.0.ip_address: value is not a valid IPv4 address or network"
        ]
    );
}

#[test]
fn requests_decode_as_the_platform_takes_them() {
    let vpc: vpc::CreateVpcBody = request("vpc.create_vpc.request");
    assert_eq!(vpc.inner.cidr_block, "10.0.0.0/16");
    request::<vpc::CreateSubnetBody>("vpc.create_subnet.request");
    request::<vpc::CreateNicBody>("vpc.create_network_interface.request");
    request::<vpc::EditNicBody>("vpc.update_network_interface.request");
    request::<vpc::EditAddressPairsBody>("vpc.update_allowed_address_pairs.request");
    let clear: vpc::EditAddressPairsBody =
        request("vpc.update_allowed_address_pairs.request.clear");
    assert_eq!(clear.allowed_address_pairs[0].ip_address, None);
    // The clearing form is sent with an explicit null.
    assert_eq!(
        serde_json::to_value(&clear).expect("encodes"),
        fixture("vpc.update_allowed_address_pairs.request.clear")
    );
    request::<network::CreateSecurityGroupBody>("network.create_security_group.request");
    request::<network::EditSecurityGroupBody>("network.update_security_group.request");
    request::<network::CreatePublicIpBody>("network.create_public_ip.request");
    let vm: bcs::CreateInstanceBody = request("bcs.create_instance.request.vm");
    assert_eq!(vm.inner.volumes[0].size, 50);
    let bm: bcs::CreateInstanceBody = request("bcs.create_instance.request.baremetal");
    assert!(bm.inner.volumes.is_empty());
    assert_eq!(bm.inner.is_bonding, Some(true));
    request::<bcs::ResizeBody>("bcs.resize_instance.request");
    request::<iam::TokenRequest>("iam.token.request");
}
