//! The simulator as a platform: for every rule it enforces, a call it refuses and the
//! near-identical call it accepts, the refused call leaving the world untouched; then
//! determinism, persistence, builds and operator control.

use std::fmt::Debug;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use nicplan::cloud::sim::{Delays, Sim, World};
use nicplan::cloud::{
    Cloud, CloudError, CloudInstance, CloudNic, InstanceRequest, NicRequest, NicUpdate,
};
use nicplan::resource::Status;

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A world with a VPC 10.0.0.0/16, subnet `a` 10.0.1.0/24 in kr-central-2-a, subnet `b`
/// 10.0.2.0/24 in kr-central-2-b and one security group.
struct Fx {
    sim: Sim,
    vpc: String,
    a: String,
    b: String,
    sg: String,
}

fn fx_with(multiple_ips: bool) -> Fx {
    let mut sim = Sim::in_memory(multiple_ips);
    sim.set_build_time(Duration::ZERO);
    let vpc = sim.create_vpc("main", net("10.0.0.0/16")).unwrap().id;
    let a = sim
        .create_subnet("a", &vpc, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap()
        .id;
    let b = sim
        .create_subnet("b", &vpc, net("10.0.2.0/24"), "kr-central-2-b")
        .unwrap()
        .id;
    let sg = sim.create_security_group("web", "").unwrap().id;
    Fx { sim, vpc, a, b, sg }
}

fn fx() -> Fx {
    fx_with(true)
}

fn nic_request(name: &str, subnet: &str, groups: &[&str]) -> NicRequest {
    NicRequest {
        name: name.to_string(),
        description: String::new(),
        subnet_id: subnet.to_string(),
        private_ip: None,
        secondary_ips: vec![],
        security_group_ids: groups.iter().map(|g| g.to_string()).collect(),
        source_dest_check: true,
    }
}

fn instance_request(name: &str, flavor: &str, nic: &str) -> InstanceRequest {
    InstanceRequest {
        name: name.to_string(),
        description: String::new(),
        flavor: flavor.to_string(),
        image: "ubuntu-24.04".to_string(),
        primary_nic_id: nic.to_string(),
        root_volume_gb: 50,
        bonding: false,
    }
}

fn update_of(nic: &CloudNic) -> NicUpdate {
    NicUpdate {
        description: nic.description.clone(),
        security_group_ids: nic.security_group_ids.clone(),
        source_dest_check: nic.source_dest_check,
        secondary_ips: nic.secondary_ips.clone(),
    }
}

impl Fx {
    fn nic(&self, name: &str, subnet: &str) -> CloudNic {
        self.sim
            .create_nic(&nic_request(name, subnet, &[&self.sg]))
            .unwrap()
    }

    /// An instance of `flavor` whose primary NIC sits in subnet `a`.
    fn instance(&self, name: &str, flavor: &str) -> CloudInstance {
        let nic = self.nic(&format!("{name}-eth0"), &self.a);
        self.sim
            .create_instance(&instance_request(name, flavor, &nic.id))
            .unwrap()
    }

    fn world(&self) -> World {
        self.sim.world().unwrap()
    }
}

/// Runs a call that must fail, checks it changed nothing, and gives its error.
fn refused<T: Debug>(sim: &Sim, call: impl FnOnce() -> Result<T, CloudError>) -> CloudError {
    let before = sim.world().unwrap();
    let result = call();
    let after = sim.world().unwrap();
    assert_eq!(before, after, "a refused call changed the world");
    match result {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e,
    }
}

/// A refusal as a 4xx whose message contains `needle`.
fn rejected<T: Debug>(sim: &Sim, needle: &str, call: impl FnOnce() -> Result<T, CloudError>) {
    match refused(sim, call) {
        CloudError::Rejected(message) => assert!(
            message.contains(needle),
            "message {message:?} does not contain {needle:?}"
        ),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

/// A refusal for an unknown ID of this kind.
fn not_found<T: Debug>(sim: &Sim, kind: &str, call: impl FnOnce() -> Result<T, CloudError>) {
    match refused(sim, call) {
        CloudError::NotFound { kind: k, .. } => assert_eq!(k, kind),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn backend_reports_its_name_and_capability() {
    assert_eq!(Sim::in_memory(true).name(), "sim");
    assert!(Sim::in_memory(true).multiple_ips());
    assert!(!Sim::in_memory(false).multiple_ips());
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Sim>();
}

#[test]
fn vpc_prefix_is_between_16_and_24() {
    let sim = Sim::in_memory(true);
    rejected(&sim, "between /16 and /24", || {
        sim.create_vpc("v", net("10.0.0.0/15"))
    });
    rejected(&sim, "between /16 and /24", || {
        sim.create_vpc("v", net("10.0.0.0/25"))
    });
    rejected(&sim, "host bits", || {
        sim.create_vpc("v", net("10.0.0.1/16"))
    });
    let v16 = sim.create_vpc("v", net("10.0.0.0/16")).unwrap();
    let v24 = sim.create_vpc("w", net("10.1.0.0/24")).unwrap();
    assert_eq!(v16.id, "vpc-000001");
    assert_eq!(v24.cidr_block, net("10.1.0.0/24"));
}

#[test]
fn vpc_is_deleted_only_without_subnets() {
    let f = fx();
    let s = &f.sim;
    not_found(s, "VPC", || s.delete_vpc("vpc-999999"));
    rejected(s, "still holds subnet", || s.delete_vpc(&f.vpc));
    s.delete_subnet(&f.a).unwrap();
    s.delete_subnet(&f.b).unwrap();
    s.delete_vpc(&f.vpc).unwrap();
    assert!(f.world().vpcs.is_empty());
}

#[test]
fn subnet_lies_inside_its_vpc_without_overlap_in_a_real_zone() {
    let f = fx();
    let s = &f.sim;
    not_found(s, "VPC", || {
        s.create_subnet("c", "vpc-999999", net("10.0.3.0/24"), "kr-central-2-a")
    });
    rejected(s, "outside VPC", || {
        s.create_subnet("c", &f.vpc, net("10.1.3.0/24"), "kr-central-2-a")
    });
    rejected(s, "overlaps subnet", || {
        s.create_subnet("c", &f.vpc, net("10.0.1.128/25"), "kr-central-2-a")
    });
    rejected(s, "overlaps subnet", || {
        s.create_subnet("c", &f.vpc, net("10.0.0.0/22"), "kr-central-2-a")
    });
    rejected(s, "host bits", || {
        s.create_subnet("c", &f.vpc, net("10.0.3.1/24"), "kr-central-2-a")
    });
    for zone in [
        "kr-central-2-d",
        "kr-central-4-a",
        "kr-central-2",
        "us-east-1a",
        "",
    ] {
        rejected(s, "does not exist", || {
            s.create_subnet("c", &f.vpc, net("10.0.3.0/24"), zone)
        });
    }
    let c = s
        .create_subnet("c", &f.vpc, net("10.0.3.0/24"), "kr-central-2-c")
        .unwrap();
    assert_eq!(c.vpc_id, f.vpc);
    assert_eq!(c.availability_zone, "kr-central-2-c");
    s.create_subnet("d", &f.vpc, net("10.0.4.0/24"), "kr-central-1-a")
        .unwrap();
    s.create_subnet("e", &f.vpc, net("10.0.5.0/24"), "kr-central-3-b")
        .unwrap();
    // The same range in another VPC is no overlap.
    let other = s.create_vpc("other", net("10.0.0.0/16")).unwrap();
    s.create_subnet("a2", &other.id, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
}

#[test]
fn subnet_is_deleted_only_without_nics() {
    let f = fx();
    let s = &f.sim;
    let nic = f.nic("eth0", &f.a);
    not_found(s, "subnet", || s.delete_subnet("subnet-999999"));
    rejected(s, "still holds network interface", || s.delete_subnet(&f.a));
    s.delete_nic(&nic.id).unwrap();
    s.delete_subnet(&f.a).unwrap();
}

#[test]
fn security_groups_are_updated_and_deleted_when_unused() {
    let f = fx();
    let s = &f.sim;
    not_found(s, "security group", || {
        s.update_security_group("sg-999999", "x")
    });
    let updated = s.update_security_group(&f.sg, "web tier").unwrap();
    assert_eq!(updated.description, "web tier");
    assert_eq!(f.world().security_groups[&f.sg].description, "web tier");

    let nic = f.nic("eth0", &f.a);
    not_found(s, "security group", || s.delete_security_group("sg-999999"));
    rejected(s, "still used by network interface", || {
        s.delete_security_group(&f.sg)
    });
    let mut update = update_of(&nic);
    update.security_group_ids.clear();
    s.update_nic(&nic.id, &update).unwrap();
    s.delete_security_group(&f.sg).unwrap();
}

#[test]
fn nic_needs_existing_subnet_and_groups_and_starts_unattached() {
    let f = fx();
    let s = &f.sim;
    not_found(s, "subnet", || {
        s.create_nic(&nic_request("eth0", "subnet-999999", &[&f.sg]))
    });
    not_found(s, "security group", || {
        s.create_nic(&nic_request("eth0", &f.a, &[&f.sg, "sg-999999"]))
    });
    let nic = s.create_nic(&nic_request("eth0", &f.a, &[&f.sg])).unwrap();
    assert_eq!(nic.device_id, None);
    assert_eq!(nic.private_ip, ip("10.0.1.2"));
    // A NIC with no group at all is fine until it meets an instance.
    let bare = s.create_nic(&nic_request("eth1", &f.a, &[])).unwrap();
    assert!(bare.security_group_ids.is_empty());
}

#[test]
fn pinned_private_ip_is_inside_the_subnet_unreserved_and_free() {
    let f = fx();
    let s = &f.sim;
    let pinned = |addr: &str| NicRequest {
        private_ip: Some(ip(addr)),
        ..nic_request("eth0", &f.a, &[&f.sg])
    };
    rejected(s, "outside subnet", || s.create_nic(&pinned("10.0.2.10")));
    rejected(s, "network address", || s.create_nic(&pinned("10.0.1.0")));
    rejected(s, "gateway address", || s.create_nic(&pinned("10.0.1.1")));
    rejected(s, "broadcast address", || {
        s.create_nic(&pinned("10.0.1.255"))
    });
    let first = s.create_nic(&pinned("10.0.1.10")).unwrap();
    assert_eq!(first.private_ip, ip("10.0.1.10"));
    rejected(s, "already used by network interface", || {
        s.create_nic(&pinned("10.0.1.10"))
    });
    s.create_nic(&pinned("10.0.1.11")).unwrap();
    s.create_nic(&pinned("10.0.1.254")).unwrap();
    // The same address in another subnet is no conflict.
    s.create_nic(&NicRequest {
        private_ip: Some(ip("10.0.2.10")),
        ..nic_request("eth9", &f.b, &[&f.sg])
    })
    .unwrap();
}

#[test]
fn secondary_ips_are_checked_like_the_primary() {
    let f = fx();
    let s = &f.sim;
    let with = |secondary: &[&str]| NicRequest {
        secondary_ips: secondary.iter().map(|a| ip(a)).collect(),
        ..nic_request("eth0", &f.a, &[&f.sg])
    };
    rejected(s, "outside subnet", || s.create_nic(&with(&["10.0.2.20"])));
    rejected(s, "gateway address", || s.create_nic(&with(&["10.0.1.1"])));
    rejected(s, "given twice", || {
        s.create_nic(&with(&["10.0.1.20", "10.0.1.20"]))
    });
    let holder = s.create_nic(&with(&["10.0.1.20"])).unwrap();
    assert_eq!(holder.secondary_ips, vec![ip("10.0.1.20")]);
    // The assigned primary skips nothing it need not: 10.0.1.2 was free.
    assert_eq!(holder.private_ip, ip("10.0.1.2"));
    rejected(s, "already used by network interface", || {
        s.create_nic(&with(&["10.0.1.20"]))
    });
    // A pinned primary may not take another NIC's secondary IP either.
    rejected(s, "already used by network interface", || {
        s.create_nic(&NicRequest {
            private_ip: Some(ip("10.0.1.20")),
            ..nic_request("eth1", &f.a, &[&f.sg])
        })
    });
    // Nor repeat its own secondary.
    rejected(s, "given twice", || {
        s.create_nic(&NicRequest {
            private_ip: Some(ip("10.0.1.30")),
            ..with(&["10.0.1.30"])
        })
    });
    let other = s.create_nic(&with(&["10.0.1.21"])).unwrap();
    assert_eq!(other.private_ip, ip("10.0.1.3"));
    // The next assigned primary skips addresses held as secondary IPs.
    let auto = |sim: &Sim| sim.create_nic(&nic_request("x", &f.a, &[&f.sg])).unwrap();
    for expected in ["10.0.1.4", "10.0.1.5"] {
        assert_eq!(auto(s).private_ip, ip(expected));
    }
}

#[test]
fn single_ip_platform_refuses_secondary_ips() {
    let f = fx_with(false);
    let s = &f.sim;
    let request = NicRequest {
        secondary_ips: vec![ip("10.0.1.20")],
        ..nic_request("eth0", &f.a, &[&f.sg])
    };
    rejected(
        s,
        "this platform supports one IP per network interface",
        || s.create_nic(&request),
    );
    let nic = s.create_nic(&nic_request("eth0", &f.a, &[&f.sg])).unwrap();
    let mut update = update_of(&nic);
    update.secondary_ips = vec![ip("10.0.1.20")];
    rejected(
        s,
        "this platform supports one IP per network interface",
        || s.update_nic(&nic.id, &update),
    );
    update.secondary_ips.clear();
    update.source_dest_check = false;
    assert!(!s.update_nic(&nic.id, &update).unwrap().source_dest_check);
}

#[test]
fn nic_update_checks_groups_and_secondary_ips() {
    let f = fx();
    let s = &f.sim;
    let nic = f.nic("eth0", &f.a);
    let neighbour = s
        .create_nic(&NicRequest {
            secondary_ips: vec![ip("10.0.1.50")],
            ..nic_request("eth1", &f.a, &[&f.sg])
        })
        .unwrap();
    not_found(s, "network interface", || {
        s.update_nic("nic-999999", &update_of(&nic))
    });
    let mut update = update_of(&nic);
    update.security_group_ids.push("sg-999999".to_string());
    not_found(s, "security group", || s.update_nic(&nic.id, &update));

    let mut update = update_of(&nic);
    update.secondary_ips = vec![ip("10.0.1.50")];
    rejected(s, "already used by network interface", || {
        s.update_nic(&nic.id, &update)
    });
    update.secondary_ips = vec![nic.private_ip];
    rejected(s, "already the primary IP", || {
        s.update_nic(&nic.id, &update)
    });
    update.secondary_ips = vec![ip("10.0.1.255")];
    rejected(s, "broadcast address", || s.update_nic(&nic.id, &update));
    update.secondary_ips = vec![ip("10.0.1.51"), ip("10.0.1.52")];
    update.description = "changed".to_string();
    let changed = s.update_nic(&nic.id, &update).unwrap();
    assert_eq!(changed.secondary_ips, update.secondary_ips);
    assert_eq!(changed.description, "changed");
    // Its own current IPs do not conflict with itself.
    update.secondary_ips = vec![ip("10.0.1.52"), ip("10.0.1.51"), ip("10.0.1.53")];
    s.update_nic(&nic.id, &update).unwrap();
    s.update_nic(&neighbour.id, &update_of(&neighbour)).unwrap();
}

#[test]
fn attached_nic_keeps_a_group_unless_bare_metal() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    let primary = f.world().nics[&vm.primary_nic_id].clone();
    let mut update = update_of(&primary);
    update.security_group_ids.clear();
    rejected(s, "must keep at least one security group", || {
        s.update_nic(&primary.id, &update)
    });
    // The same holds for a secondary NIC.
    let second = f.nic("vm-eth1", &f.a);
    s.attach_nic(&vm.id, &second.id).unwrap();
    let mut update2 = update_of(&second);
    update2.security_group_ids.clear();
    rejected(s, "must keep at least one security group", || {
        s.update_nic(&second.id, &update2)
    });
    // Unattached, the group may go.
    s.detach_nic(&vm.id, &second.id).unwrap();
    s.update_nic(&second.id, &update2).unwrap();
    // On bare metal too.
    let bm = f.instance("bm", "r2a.baremetal");
    let bm_primary = f.world().nics[&bm.primary_nic_id].clone();
    let mut update3 = update_of(&bm_primary);
    update3.security_group_ids.clear();
    assert!(
        s.update_nic(&bm_primary.id, &update3)
            .unwrap()
            .security_group_ids
            .is_empty()
    );
}

#[test]
fn nic_is_deleted_only_unattached_and_without_public_ip() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    let nic = f.nic("eth1", &f.a);
    s.attach_nic(&vm.id, &nic.id).unwrap();
    not_found(s, "network interface", || s.delete_nic("nic-999999"));
    rejected(s, "detach it first", || s.delete_nic(&nic.id));
    s.detach_nic(&vm.id, &nic.id).unwrap();
    let public = s.create_public_ip("").unwrap();
    s.associate_public_ip(&public.id, &nic.id, None).unwrap();
    rejected(s, "disassociate it first", || s.delete_nic(&nic.id));
    s.disassociate_public_ip(&public.id, &nic.id).unwrap();
    s.delete_nic(&nic.id).unwrap();
    assert!(!f.world().nics.contains_key(&nic.id));
}

#[test]
fn instance_creation_checks_flavor_nic_and_group() {
    let f = fx();
    let s = &f.sim;
    let nic = f.nic("web-eth0", &f.b);
    rejected(s, "flavor m2a.huge", || {
        s.create_instance(&instance_request("web", "m2a.huge", &nic.id))
    });
    rejected(s, "flavor m2a", || {
        s.create_instance(&instance_request("web", "m2a", &nic.id))
    });
    not_found(s, "network interface", || {
        s.create_instance(&instance_request("web", "m2a.large", "nic-999999"))
    });
    let bare = s.create_nic(&nic_request("bare", &f.b, &[])).unwrap();
    rejected(s, "no security group", || {
        s.create_instance(&instance_request("web", "m2a.large", &bare.id))
    });
    let web = s
        .create_instance(&instance_request("web", "m2a.large", &nic.id))
        .unwrap();
    assert_eq!(web.status, Status::Active);
    assert_eq!(web.availability_zone, "kr-central-2-b");
    assert_eq!(web.primary_nic_id, nic.id);
    assert_eq!(f.world().nics[&nic.id].device_id, Some(web.id.clone()));
    rejected(s, "already attached to instance", || {
        s.create_instance(&instance_request("web2", "m2a.large", &nic.id))
    });
    // Bare metal needs no group.
    let bm = s
        .create_instance(&instance_request("bm", "r2a.baremetal", &bare.id))
        .unwrap();
    assert_eq!(bm.flavor, "r2a.baremetal");
}

#[test]
fn attach_checks_nic_zone_capacity_and_group() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large"); // at most 3 NICs
    let other = f.instance("other", "m2a.large");
    not_found(s, "instance", || {
        s.attach_nic("i-999999", &vm.primary_nic_id)
    });
    not_found(s, "network interface", || {
        s.attach_nic(&vm.id, "nic-999999")
    });
    rejected(s, "already attached to instance", || {
        s.attach_nic(&vm.id, &other.primary_nic_id)
    });
    let in_b = f.nic("in-b", &f.b);
    rejected(s, "zone kr-central-2-b", || s.attach_nic(&vm.id, &in_b.id));
    let bare = s.create_nic(&nic_request("bare", &f.a, &[])).unwrap();
    rejected(s, "no security group", || s.attach_nic(&vm.id, &bare.id));
    let second = f.nic("second", &f.a);
    let third = f.nic("third", &f.a);
    let fourth = f.nic("fourth", &f.a);
    s.attach_nic(&vm.id, &second.id).unwrap();
    rejected(s, "already attached to instance", || {
        s.attach_nic(&vm.id, &second.id)
    });
    s.attach_nic(&vm.id, &third.id).unwrap();
    rejected(s, "the most flavor m2a.large allows", || {
        s.attach_nic(&vm.id, &fourth.id)
    });
    s.attach_nic(&other.id, &fourth.id).unwrap();
    let world = f.world();
    assert_eq!(world.nics[&second.id].device_id, Some(vm.id.clone()));
    assert_eq!(world.nics[&fourth.id].device_id, Some(other.id.clone()));
    // Bare metal takes a NIC without group.
    let bm = f.instance("bm", "r2a.baremetal");
    s.attach_nic(&bm.id, &bare.id).unwrap();
}

#[test]
fn attach_and_detach_need_an_active_or_stopped_instance() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    let nic = f.nic("eth1", &f.a);
    for status in [Status::ShelvedOffloaded, Status::Error] {
        s.set_instance_status(&vm.id, status).unwrap();
        rejected(s, status.as_str(), || s.attach_nic(&vm.id, &nic.id));
    }
    s.set_instance_status(&vm.id, Status::Stopped).unwrap();
    s.attach_nic(&vm.id, &nic.id).unwrap();
    s.set_instance_status(&vm.id, Status::Error).unwrap();
    rejected(s, "is error", || s.detach_nic(&vm.id, &nic.id));
    s.set_instance_status(&vm.id, Status::Active).unwrap();
    s.detach_nic(&vm.id, &nic.id).unwrap();
}

#[test]
fn detach_takes_secondaries_only_from_their_instance() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    let other = f.instance("other", "m2a.large");
    let nic = f.nic("eth1", &f.a);
    rejected(s, "is not attached to instance", || {
        s.detach_nic(&vm.id, &nic.id)
    });
    s.attach_nic(&vm.id, &nic.id).unwrap();
    rejected(s, "is not attached to instance", || {
        s.detach_nic(&other.id, &nic.id)
    });
    rejected(
        s,
        "the primary network interface cannot be detached",
        || s.detach_nic(&vm.id, &vm.primary_nic_id),
    );
    not_found(s, "instance", || s.detach_nic("i-999999", &nic.id));
    s.detach_nic(&vm.id, &nic.id).unwrap();
    assert_eq!(f.world().nics[&nic.id].device_id, None);
}

#[test]
fn resize_needs_a_stopped_vm_and_room_for_its_nics() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.xlarge"); // at most 4 NICs
    for name in ["n1", "n2", "n3"] {
        let nic = f.nic(name, &f.a);
        s.attach_nic(&vm.id, &nic.id).unwrap();
    }
    not_found(s, "instance", || s.resize_instance("i-999999", "m2a.large"));
    rejected(s, "resizes only a stopped instance", || {
        s.resize_instance(&vm.id, "m2a.4xlarge")
    });
    s.stop_instance(&vm.id).unwrap();
    assert_eq!(s.instance(&vm.id).unwrap().status, Status::Stopped);
    rejected(s, "not offered", || s.resize_instance(&vm.id, "m2a.tiny"));
    rejected(s, "holds 4 network interfaces", || {
        s.resize_instance(&vm.id, "m2a.large")
    });
    s.set_instance_status(&vm.id, Status::ShelvedOffloaded)
        .unwrap();
    rejected(s, "shelved_offloaded", || {
        s.resize_instance(&vm.id, "m2a.4xlarge")
    });
    s.set_instance_status(&vm.id, Status::Stopped).unwrap();
    let resized = s.resize_instance(&vm.id, "m2a.4xlarge").unwrap();
    assert_eq!(resized.flavor, "m2a.4xlarge");
    assert_eq!(
        resized.status,
        Status::Stopped,
        "a resize leaves it stopped"
    );
    s.resize_instance(&vm.id, "m2a.2xlarge").unwrap();

    // Only between vm flavors: never to or from bare metal or a GPU flavor.
    let small = f.instance("small", "m2a.large");
    s.stop_instance(&small.id).unwrap();
    rejected(s, "only vm flavors", || {
        s.resize_instance(&small.id, "r2a.baremetal")
    });
    rejected(s, "only vm flavors", || {
        s.resize_instance(&small.id, "gn1i.xlarge")
    });
    let bm = f.instance("bm", "r2a.baremetal");
    s.stop_instance(&bm.id).unwrap();
    rejected(s, "only vm flavors", || {
        s.resize_instance(&bm.id, "r2a.large")
    });
    let gpu = f.instance("gpu", "gn1i.xlarge");
    s.stop_instance(&gpu.id).unwrap();
    rejected(s, "only vm flavors", || {
        s.resize_instance(&gpu.id, "gn1i.2xlarge")
    });
}

#[test]
fn stop_and_start_move_between_active_and_stopped() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    not_found(s, "instance", || s.stop_instance("i-999999"));
    s.set_instance_status(&vm.id, Status::Error).unwrap();
    rejected(s, "only a stopped instance can be started", || {
        s.start_instance(&vm.id)
    });
    s.set_instance_status(&vm.id, Status::Active).unwrap();
    s.stop_instance(&vm.id).unwrap();
    assert_eq!(s.instance(&vm.id).unwrap().status, Status::Stopped);
    // A repeat changes nothing (a retry after a lost answer).
    s.stop_instance(&vm.id).unwrap();
    // NICs attach to a stopped instance too.
    let nic = f.nic("eth1", &f.a);
    s.attach_nic(&vm.id, &nic.id).unwrap();
    s.start_instance(&vm.id).unwrap();
    assert_eq!(s.instance(&vm.id).unwrap().status, Status::Active);
    s.start_instance(&vm.id).unwrap();
    s.set_instance_status(&vm.id, Status::Error).unwrap();
    rejected(s, "only an active instance can be stopped", || {
        s.stop_instance(&vm.id)
    });
}

#[test]
fn instance_deletion_takes_its_primary_and_frees_its_secondaries() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    let nic = f.nic("eth1", &f.a);
    s.attach_nic(&vm.id, &nic.id).unwrap();
    let public = s.create_public_ip("").unwrap();
    s.associate_public_ip(&public.id, &nic.id, None).unwrap();
    not_found(s, "instance", || s.delete_instance("i-999999"));
    rejected(s, "disassociate it first", || s.delete_instance(&vm.id));
    s.disassociate_public_ip(&public.id, &nic.id).unwrap();
    // Any status will do.
    s.set_instance_status(&vm.id, Status::Error).unwrap();
    s.delete_instance(&vm.id).unwrap();
    let world = f.world();
    assert!(world.instances.is_empty());
    assert!(!world.nics.contains_key(&vm.primary_nic_id));
    assert_eq!(world.nics[&nic.id].device_id, None);
    // The primary's address is free again.
    assert_eq!(f.nic("again", &f.a).private_ip, ip("10.0.1.2"));
}

#[test]
fn public_ips_map_to_one_private_ip_of_their_nic() {
    let f = fx();
    let s = &f.sim;
    let nic = s
        .create_nic(&NicRequest {
            secondary_ips: vec![ip("10.0.1.40")],
            ..nic_request("eth0", &f.a, &[&f.sg])
        })
        .unwrap();
    let other = f.nic("eth1", &f.a);
    let p1 = s.create_public_ip("first").unwrap();
    let p2 = s.create_public_ip("second").unwrap();
    assert_eq!(p1.address, ip("203.0.113.1"));
    assert_eq!(p2.address, ip("203.0.113.2"));

    not_found(s, "public IP", || {
        s.associate_public_ip("pip-999999", &nic.id, None)
    });
    not_found(s, "network interface", || {
        s.associate_public_ip(&p1.id, "nic-999999", None)
    });
    rejected(s, "is not an IP of network interface", || {
        s.associate_public_ip(&p1.id, &nic.id, Some(other.private_ip))
    });
    let mapped = s.associate_public_ip(&p1.id, &nic.id, None).unwrap();
    assert_eq!(mapped.private_ip, Some(nic.private_ip));
    assert_eq!(mapped.nic_id, Some(nic.id.clone()));
    rejected(s, "already associated", || {
        s.associate_public_ip(&p1.id, &other.id, None)
    });
    rejected(s, "already mapped to public IP", || {
        s.associate_public_ip(&p2.id, &nic.id, Some(nic.private_ip))
    });
    s.associate_public_ip(&p2.id, &nic.id, Some(ip("10.0.1.40")))
        .unwrap();

    // A mapped secondary IP cannot be dropped from under its public IP.
    let mut update = update_of(&nic);
    update.secondary_ips.clear();
    rejected(s, "disassociate it first", || {
        s.update_nic(&nic.id, &update)
    });

    rejected(s, "is not associated with network interface", || {
        s.disassociate_public_ip(&p2.id, &other.id)
    });
    rejected(s, "disassociate it first", || s.delete_public_ip(&p2.id));
    s.disassociate_public_ip(&p2.id, &nic.id).unwrap();
    rejected(s, "is not associated with network interface", || {
        s.disassociate_public_ip(&p2.id, &nic.id)
    });
    s.update_nic(&nic.id, &update).unwrap();
    not_found(s, "public IP", || s.delete_public_ip("pip-999999"));
    s.delete_public_ip(&p2.id).unwrap();
    // The freed address is handed out first.
    assert_eq!(s.create_public_ip("").unwrap().address, ip("203.0.113.2"));
}

#[test]
fn public_pool_moves_to_the_second_range_when_the_first_is_full() {
    let sim = Sim::in_memory(true);
    let mut last = None;
    for _ in 0..255 {
        last = Some(sim.create_public_ip("").unwrap().address);
    }
    assert_eq!(last, Some(ip("198.51.100.1")));
}

#[test]
fn subnet_without_free_address_refuses_another_nic() {
    let f = fx();
    let s = &f.sim;
    let tiny = s
        .create_subnet("tiny", &f.vpc, net("10.0.9.0/30"), "kr-central-2-a")
        .unwrap();
    let only = s.create_nic(&nic_request("only", &tiny.id, &[])).unwrap();
    assert_eq!(only.private_ip, ip("10.0.9.2"));
    rejected(s, "no free address", || {
        s.create_nic(&nic_request("more", &tiny.id, &[]))
    });
    s.delete_nic(&only.id).unwrap();
    s.create_nic(&nic_request("more", &tiny.id, &[])).unwrap();
}

#[test]
fn reads_give_everything_or_one_instance() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    let inventory = s.inventory().unwrap();
    let world = f.world();
    assert_eq!(inventory.vpcs, world.vpcs);
    assert_eq!(inventory.subnets, world.subnets);
    assert_eq!(inventory.security_groups, world.security_groups);
    assert_eq!(inventory.nics, world.nics);
    assert_eq!(inventory.public_ips, world.public_ips);
    // Reads show an instance with the NICs it shows, the primary first.
    assert_eq!(inventory.instances[&vm.id], vm);
    assert_eq!(
        vm.attached_nic_ids,
        std::slice::from_ref(&vm.primary_nic_id)
    );
    assert_eq!(s.instance(&vm.id).unwrap(), vm);
    assert_eq!(s.vpc(&f.vpc).unwrap(), world.vpcs[&f.vpc]);
    assert_eq!(s.subnet(&f.a).unwrap(), world.subnets[&f.a]);
    assert_eq!(
        s.security_group(&f.sg).unwrap(),
        world.security_groups[&f.sg]
    );
    assert_eq!(
        s.nic(&vm.primary_nic_id).unwrap(),
        world.nics[&vm.primary_nic_id]
    );
    not_found(s, "VPC", || s.vpc("vpc-999999"));
    not_found(s, "public IP", || s.public_ip("pip-999999"));
    not_found(s, "instance", || s.instance("i-999999"));
}

/// A fixed sequence of calls touching every kind of object.
fn script(sim: &Sim) {
    let vpc = sim.create_vpc("v", net("10.0.0.0/16")).unwrap();
    let a = sim
        .create_subnet("a", &vpc.id, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
    let sg = sim.create_security_group("sg", "").unwrap();
    let n0 = sim
        .create_nic(&nic_request("n0", &a.id, &[&sg.id]))
        .unwrap();
    let n1 = sim
        .create_nic(&NicRequest {
            secondary_ips: vec![ip("10.0.1.3")],
            ..nic_request("n1", &a.id, &[&sg.id])
        })
        .unwrap();
    let vm = sim
        .create_instance(&instance_request("vm", "m2a.large", &n0.id))
        .unwrap();
    sim.attach_nic(&vm.id, &n1.id).unwrap();
    let p = sim.create_public_ip("").unwrap();
    sim.associate_public_ip(&p.id, &n1.id, Some(ip("10.0.1.3")))
        .unwrap();
    let _refused = sim.delete_instance(&vm.id);
}

#[test]
fn ids_macs_and_addresses_are_deterministic() {
    let mut one = Sim::in_memory(true);
    one.set_build_time(Duration::ZERO);
    let mut two = Sim::in_memory(true);
    two.set_build_time(Duration::ZERO);
    script(&one);
    script(&two);
    let world = one.world().unwrap();
    assert_eq!(world, two.world().unwrap());

    let ids: Vec<&String> = world
        .vpcs
        .keys()
        .chain(world.subnets.keys())
        .chain(world.security_groups.keys())
        .chain(world.nics.keys())
        .chain(world.instances.keys())
        .chain(world.public_ips.keys())
        .collect();
    assert_eq!(
        ids,
        [
            "vpc-000001",
            "subnet-000002",
            "sg-000003",
            "nic-000004",
            "nic-000005",
            "i-000006",
            "pip-000007"
        ]
    );
    assert_eq!(world.counter, 7);
    let n0 = &world.nics["nic-000004"];
    let n1 = &world.nics["nic-000005"];
    assert_eq!(n0.mac_address, "fa:16:3e:00:00:04");
    assert_eq!(n1.mac_address, "fa:16:3e:00:00:05");
    assert_eq!(n0.private_ip, ip("10.0.1.2"));
    // 10.0.1.3 is n1's own secondary, so its primary is the next free address.
    assert_eq!(n1.private_ip, ip("10.0.1.4"));
    assert_eq!(world.public_ips["pip-000007"].address, ip("203.0.113.1"));
}

#[test]
fn threads_share_one_simulator() {
    let sim = Sim::in_memory(true);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let sim = &sim;
            scope.spawn(move || {
                for i in 0..10 {
                    sim.create_security_group(&format!("sg-{t}-{i}"), "")
                        .unwrap();
                }
            });
        }
    });
    let world = sim.world().unwrap();
    assert_eq!(world.security_groups.len(), 80);
    assert_eq!(world.counter, 80);
}

#[test]
fn file_simulator_survives_reopening_and_sees_other_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("sim.json");
    let mut first = Sim::open(&path, true).unwrap();
    first.set_build_time(Duration::ZERO);
    assert_eq!(first.path(), Some(path.as_path()));
    assert!(!path.exists(), "opening alone writes nothing");
    let vpc = first.create_vpc("v", net("10.0.0.0/16")).unwrap();
    assert!(path.exists());

    let mut second = Sim::open(&path, true).unwrap();
    second.set_build_time(Duration::ZERO);
    assert!(second.world().unwrap().vpcs.contains_key(&vpc.id));
    let subnet = second
        .create_subnet("a", &vpc.id, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
    // The first sees the second's subnet and continues its counter.
    rejected(&first, "still holds subnet", || first.delete_vpc(&vpc.id));
    let sg = first.create_security_group("sg", "").unwrap();
    assert_eq!(subnet.id, "subnet-000002");
    assert_eq!(sg.id, "sg-000003");
    let nic = first
        .create_nic(&nic_request("n", &subnet.id, &[&sg.id]))
        .unwrap();
    let vm = first
        .create_instance(&instance_request("vm", "m2a.large", &nic.id))
        .unwrap();
    second.set_instance_status("vm", Status::Error).unwrap();
    assert_eq!(first.instance(&vm.id).unwrap().status, Status::Error);
    let before = first.world().unwrap();
    drop(first);
    drop(second);

    let reopened = Sim::open(&path, true).unwrap();
    assert_eq!(reopened.world().unwrap(), before);
    assert_eq!(Sim::in_memory(true).world().unwrap(), World::default());
}

#[test]
fn what_a_killed_writer_left_beside_the_file_is_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let left = dir.path().join(".sim.json.a1b2c3.tmp");
    let other = dir.path().join(".other.json.a1b2c3.tmp");
    std::fs::write(&left, b"{\"vpcs\": ").unwrap();
    std::fs::write(&other, b"{").unwrap();
    let mut sim = Sim::open(&path, true).unwrap();
    sim.set_build_time(Duration::ZERO);
    sim.create_vpc("v", net("10.0.0.0/16")).unwrap();
    assert!(!left.exists(), "the leftover stays");
    assert!(
        other.exists(),
        "another file's temporary file is not this one's"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(names, [".other.json.a1b2c3.tmp"]);
}

#[test]
fn corrupt_file_is_unavailable_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    std::fs::write(&path, b"{\"vpcs\": [oops").unwrap();
    match Sim::open(&path, true) {
        Err(CloudError::Unavailable(message)) => {
            assert!(message.contains("sim.json"), "{message}")
        }
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("a corrupt file was accepted"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"vpcs\": [oops");

    // Corrupted behind an open simulator's back: every call fails, nothing is written.
    std::fs::write(&path, b"{}").unwrap();
    let sim = Sim::open(&path, true).unwrap();
    sim.create_security_group("sg", "").unwrap();
    std::fs::write(&path, b"not json").unwrap();
    for result in [
        sim.create_security_group("sg", "").map(|_| ()),
        sim.inventory().map(|_| ()),
        sim.set_instance_status("vm", Status::Active),
    ] {
        assert!(matches!(result, Err(CloudError::Unavailable(_))));
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"not json");
}

#[test]
fn instances_build_before_they_turn_active() {
    let f = fx();
    let mut sim = f.sim;
    let nic = |sim: &Sim, name: &str| sim.create_nic(&nic_request(name, &f.a, &[&f.sg])).unwrap();

    // A long build: attach is refused while it lasts.
    sim.set_build_time(Duration::from_secs(600));
    let slow_nic = nic(&sim, "slow-eth0");
    let slow = sim
        .create_instance(&instance_request("slow", "m2a.large", &slow_nic.id))
        .unwrap();
    assert_eq!(slow.status, Status::Building);
    assert!(sim.world().unwrap().pending.contains_key(&slow.id));
    let extra = nic(&sim, "extra");
    rejected(&sim, "is still building", || {
        sim.attach_nic(&slow.id, &extra.id)
    });
    rejected(&sim, "is building", || {
        sim.resize_instance(&slow.id, "m2a.xlarge")
    });
    rejected(&sim, "only an active instance can be stopped", || {
        sim.stop_instance(&slow.id)
    });

    // A short one turns active on its own.
    sim.set_build_time(Duration::from_millis(30));
    let quick_nic = nic(&sim, "quick-eth0");
    let quick = sim
        .create_instance(&instance_request("quick", "m2a.large", &quick_nic.id))
        .unwrap();
    let started = Instant::now();
    let mut status = quick.status;
    while status == Status::Building && started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
        status = sim.instance(&quick.id).unwrap().status;
    }
    assert_eq!(status, Status::Active);
    let world = sim.world().unwrap();
    assert!(!world.pending.contains_key(&quick.id));
    assert_eq!(world.instances[&quick.id].status, Status::Active);
    sim.attach_nic(&quick.id, &extra.id).unwrap();

    // The operator may end a build early.
    sim.set_instance_status("slow", Status::Stopped).unwrap();
    assert!(!sim.world().unwrap().pending.contains_key(&slow.id));
    sim.resize_instance(&slow.id, "m2a.xlarge").unwrap();
}

#[test]
fn a_file_simulator_shows_the_end_of_a_build_to_every_reader_and_reads_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let mut sim = Sim::open(&path, true).unwrap();
    sim.set_delays(Delays {
        build: 30,
        ..Delays::all(0)
    });
    let vpc = sim.create_vpc("v", net("10.0.0.0/16")).unwrap();
    let a = sim
        .create_subnet("a", &vpc.id, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
    let sg = sim.create_security_group("sg", "").unwrap();
    let nic = sim.create_nic(&nic_request("n", &a.id, &[&sg.id])).unwrap();
    let vm = sim
        .create_instance(&instance_request("vm", "m2a.large", &nic.id))
        .unwrap();
    assert_eq!(vm.status, Status::Building);
    let journal = path.with_extension("json.journal");
    let written = (std::fs::read(&path).unwrap(), std::fs::read(&journal).ok());
    let started = Instant::now();
    while sim.instance(&vm.id).unwrap().status == Status::Building
        && started.elapsed() < Duration::from_secs(2)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sim.instance(&vm.id).unwrap().status, Status::Active);
    // Another process opening the file sees the build finished too.
    let other = Sim::open(&path, true).unwrap();
    assert_eq!(other.instance(&vm.id).unwrap().status, Status::Active);
    assert!(other.world().unwrap().pending.is_empty());
    // Reading changed nothing on disk.
    assert_eq!(
        (std::fs::read(&path).unwrap(), std::fs::read(&journal).ok()),
        written
    );
    assert!(Sim::stored(&path).unwrap().pending.contains_key(&vm.id));
    // The next change stores the finished build with it.
    sim.create_security_group("sg2", "").unwrap();
    let stored = Sim::stored(&path).unwrap();
    assert_eq!(stored.instances[&vm.id].status, Status::Active);
    assert!(stored.pending.is_empty());
}

#[test]
fn reading_a_file_simulator_that_does_not_exist_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("sim.json");
    let sim = Sim::open(&path, true).unwrap();
    let inventory = sim.inventory().unwrap();
    assert!(inventory.vpcs.is_empty() && inventory.instances.is_empty());
    assert!(sim.world().unwrap().vpcs.is_empty());
    assert!(!dir.path().join("nested").exists(), "a read made a folder");
}

#[test]
fn operator_sets_status_by_name_or_id() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    let nic = f.nic("eth1", &f.a);
    s.set_instance_status("vm", Status::Error).unwrap();
    assert_eq!(s.instance(&vm.id).unwrap().status, Status::Error);
    rejected(s, "is error", || s.attach_nic(&vm.id, &nic.id));
    s.set_instance_status(&vm.id, Status::Active).unwrap();
    s.attach_nic(&vm.id, &nic.id).unwrap();
    not_found(s, "instance", || {
        s.set_instance_status("nobody", Status::Active)
    });
    // A name two instances share is ambiguous.
    f.instance("vm", "m2a.large");
    rejected(s, "2 instances are named vm", || {
        s.set_instance_status("vm", Status::Stopped)
    });
}

/// A simulator whose every change takes `ms` milliseconds, with a VPC, a subnet and a
/// security group already provisioned.
fn slow_fx(ms: u64) -> Fx {
    let mut f = fx();
    f.sim.set_delays(Delays::all(ms));
    f
}

/// Waits until `done` holds (at most two seconds), reading the world.
fn eventually(sim: &Sim, done: impl Fn(&World) -> bool) {
    let started = Instant::now();
    while !done(&sim.world().unwrap()) {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the change never finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn vpcs_and_subnets_provision_before_they_take_children() {
    use nicplan::cloud::Provisioning;
    let mut sim = Sim::in_memory(true);
    sim.set_delays(Delays::all(40));
    let vpc = sim.create_vpc("slow", net("10.0.0.0/16")).unwrap();
    assert_eq!(vpc.status, Provisioning::PendingCreate);
    rejected(
        &sim,
        "is PENDING_CREATE; a new subnet needs it ACTIVE",
        || sim.create_subnet("a", &vpc.id, net("10.0.1.0/24"), "kr-central-2-a"),
    );
    eventually(&sim, |w| w.vpcs[&vpc.id].status == Provisioning::Active);
    let subnet = sim
        .create_subnet("a", &vpc.id, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
    assert_eq!(subnet.status, Provisioning::PendingCreate);
    let sg = sim.create_security_group("sg", "").unwrap();
    rejected(&sim, "a new network interface needs it ACTIVE", || {
        sim.create_nic(&nic_request("n", &subnet.id, &[&sg.id]))
    });
    eventually(&sim, |w| {
        w.subnets[&subnet.id].status == Provisioning::Active
    });
    sim.create_nic(&nic_request("n", &subnet.id, &[&sg.id]))
        .unwrap();
}

#[test]
fn deletes_finish_later_and_hold_what_they_held_until_then() {
    use nicplan::cloud::Provisioning;
    let f = slow_fx(40);
    let s = &f.sim;
    let nic = f.nic("n", &f.a);
    s.delete_nic(&nic.id).unwrap();
    // Still there, still holding its address, still in its subnet.
    assert!(s.nic(&nic.id).is_ok());
    rejected(s, "is already used by network interface", || {
        s.create_nic(&NicRequest {
            private_ip: Some(nic.private_ip),
            ..nic_request("again", &f.a, &[&f.sg])
        })
    });
    rejected(s, "still holds network interface", || s.delete_subnet(&f.a));
    // A repeated delete is no error: the platform is on it.
    s.delete_nic(&nic.id).unwrap();
    eventually(s, |w| !w.nics.contains_key(&nic.id));
    not_found(s, "network interface", || s.nic(&nic.id));
    s.delete_subnet(&f.a).unwrap();
    assert_eq!(s.subnet(&f.a).unwrap().status, Provisioning::PendingDelete);
    s.delete_subnet(&f.b).unwrap();
    rejected(s, "still holds subnet", || s.delete_vpc(&f.vpc));
    eventually(s, |w| w.subnets.is_empty());
    s.delete_vpc(&f.vpc).unwrap();
    eventually(s, |w| w.vpcs.is_empty());
}

#[test]
fn an_instance_goes_away_later_and_frees_its_nics_then() {
    let f = fx();
    let s = &f.sim;
    let vm = f.instance("vm", "m2a.large");
    let eth1 = f.nic("eth1", &f.a);
    s.attach_nic(&vm.id, &eth1.id).unwrap();
    let mut slow = f;
    slow.sim.set_delays(Delays::all(40));
    let s = &slow.sim;
    s.delete_instance(&vm.id).unwrap();
    assert_eq!(s.instance(&vm.id).unwrap().status, Status::Deleting);
    // Its NICs stay attached until it is gone.
    rejected(s, "is attached to instance", || s.delete_nic(&eth1.id));
    rejected(s, "is deleting; detaching a network interface", || {
        s.detach_nic(&vm.id, &eth1.id)
    });
    eventually(s, |w| !w.instances.contains_key(&vm.id));
    let world = slow.world();
    assert!(!world.nics.contains_key(&vm.primary_nic_id));
    assert_eq!(world.nics[&eth1.id].device_id, None);
}

#[test]
fn a_primary_nic_made_beforehand_may_outlive_its_instance() {
    let f = fx();
    let s = &f.sim;
    let mut settings = s.settings().unwrap();
    settings.keep_primary_nic = true;
    s.set_settings(settings).unwrap();
    let vm = f.instance("vm", "m2a.large");
    s.delete_instance(&vm.id).unwrap();
    let world = f.world();
    assert!(world.instances.is_empty());
    assert_eq!(world.nics[&vm.primary_nic_id].device_id, None);
    s.delete_nic(&vm.primary_nic_id).unwrap();
}

#[test]
fn attaches_show_on_the_instance_later() {
    let f = slow_fx(0);
    let vm = f.instance("vm", "m2a.large");
    let nic = f.nic("eth1", &f.a);
    let mut slow = f;
    slow.sim.set_delays(Delays::all(40));
    let s = &slow.sim;
    s.attach_nic(&vm.id, &nic.id).unwrap();
    // The NIC counts against the instance at once, but shows on it only later.
    assert_eq!(
        s.nic(&nic.id).unwrap().device_id.as_deref(),
        Some(vm.id.as_str())
    );
    assert_eq!(
        s.instance(&vm.id).unwrap().attached_nic_ids,
        std::slice::from_ref(&vm.primary_nic_id)
    );
    rejected(s, "is busy (attaching)", || s.detach_nic(&vm.id, &nic.id));
    eventually(s, |w| w.pending.is_empty());
    assert!(
        s.instance(&vm.id)
            .unwrap()
            .attached_nic_ids
            .contains(&nic.id)
    );
    s.detach_nic(&vm.id, &nic.id).unwrap();
    // Until the detach finishes it is still attached, and a repeat changes nothing.
    rejected(s, "is attached to instance", || s.delete_nic(&nic.id));
    s.detach_nic(&vm.id, &nic.id).unwrap();
    eventually(s, |w| w.nics[&nic.id].device_id.is_none());
}

#[test]
fn a_public_ip_attaches_before_it_is_in_use_and_lingers_after_a_disassociate() {
    use nicplan::cloud::PublicIpStatus;
    let f = slow_fx(0);
    let nic = f.nic("n", &f.a);
    let mut slow = f;
    slow.sim.set_delays(Delays::all(40));
    let s = &slow.sim;
    let public = s.create_public_ip("").unwrap();
    let attaching = s.associate_public_ip(&public.id, &nic.id, None).unwrap();
    assert_eq!(attaching.status, PublicIpStatus::Attaching);
    assert_eq!(
        attaching.private_ip, None,
        "the answer may not carry it yet"
    );
    // The private IP it will map to is taken already.
    let other = s.create_public_ip("").unwrap();
    rejected(s, "is already mapped to public IP", || {
        s.associate_public_ip(&other.id, &nic.id, None)
    });
    eventually(s, |w| {
        w.public_ips[&public.id].status == PublicIpStatus::InUse
    });
    assert_eq!(
        s.public_ip(&public.id).unwrap().private_ip,
        Some(nic.private_ip)
    );
    s.disassociate_public_ip(&public.id, &nic.id).unwrap();
    rejected(s, "disassociate it first", || {
        s.delete_public_ip(&public.id)
    });
    rejected(s, "has public IP", || s.delete_nic(&nic.id));
    eventually(s, |w| {
        w.public_ips[&public.id].status == PublicIpStatus::Available
    });
    s.delete_public_ip(&public.id).unwrap();
}

#[test]
fn stops_starts_and_resizes_take_time() {
    let f = slow_fx(0);
    let vm = f.instance("vm", "m2a.large");
    let mut slow = f;
    slow.sim.set_delays(Delays::all(40));
    let s = &slow.sim;
    s.stop_instance(&vm.id).unwrap();
    assert_eq!(s.instance(&vm.id).unwrap().status, Status::Stopping);
    rejected(
        s,
        "is stopping; the platform resizes only a stopped instance",
        || s.resize_instance(&vm.id, "m2a.xlarge"),
    );
    eventually(s, |w| w.instances[&vm.id].status == Status::Stopped);
    let resizing = s.resize_instance(&vm.id, "m2a.xlarge").unwrap();
    assert_eq!(resizing.status, Status::Resizing);
    assert_eq!(
        resizing.flavor, "m2a.large",
        "the new flavor comes at the end"
    );
    eventually(s, |w| w.instances[&vm.id].flavor == "m2a.xlarge");
    assert_eq!(s.instance(&vm.id).unwrap().status, Status::Stopped);
    s.start_instance(&vm.id).unwrap();
    eventually(s, |w| w.instances[&vm.id].status == Status::Active);
}

#[test]
fn quotas_and_group_names_hold_per_project() {
    let f = fx();
    let s = &f.sim;
    rejected(s, "security group names are unique in a project", || {
        s.create_security_group("web", "")
    });
    s.create_vpc("two", net("10.1.0.0/16")).unwrap();
    s.create_vpc("three", net("10.2.0.0/16")).unwrap();
    rejected(s, "quota exceeded: the project may hold 3 VPCs", || {
        s.create_vpc("four", net("10.3.0.0/16"))
    });
    let mut settings = s.settings().unwrap();
    settings.quotas.vpcs = 4;
    settings.quotas.instances = 1;
    s.set_settings(settings).unwrap();
    s.create_vpc("four", net("10.3.0.0/16")).unwrap();
    f.instance("one", "m2a.large");
    let nic = f.nic("two-eth0", &f.a);
    rejected(
        s,
        "quota exceeded: the project may hold 1 instances",
        || s.create_instance(&instance_request("two", "m2a.large", &nic.id)),
    );
}

#[test]
fn operators_make_objects_outside_any_state_at_once() {
    let mut sim = Sim::in_memory(true);
    sim.set_delays(Delays::all(60_000));
    let vpc = sim
        .operator_create_vpc("legacy", net("10.9.0.0/16"))
        .unwrap();
    let subnet = sim
        .operator_create_subnet("legacy-a", "legacy", net("10.9.1.0/24"), "kr-central-2-a")
        .unwrap();
    sim.operator_create_security_group("legacy-sg").unwrap();
    let vm = sim
        .operator_create_instance(
            "box",
            "m2a.large",
            "legacy-a",
            None,
            &["legacy-sg".to_string()],
        )
        .unwrap();
    let nic = sim
        .operator_create_nic(
            "box-eth1",
            &subnet,
            Some(ip("10.9.1.50")),
            &["legacy-sg".to_string()],
            Some("box"),
        )
        .unwrap();
    let public = sim.operator_create_public_ip(Some("box-eth1")).unwrap();
    let world = sim.world().unwrap();
    assert!(world.pending.is_empty(), "{:?}", world.pending);
    assert_eq!(
        world.vpcs[&vpc].description, "",
        "no marker: nicplan did not make it"
    );
    assert_eq!(world.instances[&vm].status, Status::Active);
    assert_eq!(world.nics[&nic].device_id.as_deref(), Some(vm.as_str()));
    assert_eq!(world.public_ips[&public].private_ip, Some(ip("10.9.1.50")));
}

#[test]
fn an_intent_finds_the_vpc_or_subnet_its_create_made_and_never_a_stranger() {
    use nicplan::address::{Address, Kind};
    use nicplan::refresh::{DriftKind, refresh};
    use nicplan::state::{Intent, State};
    let mut sim = Sim::in_memory(true);
    sim.set_build_time(Duration::ZERO);
    // A stranger with the very name and block, there before the create began.
    let stranger = sim.create_vpc("main", net("10.0.0.0/16")).unwrap();
    let vpc_intent = |existing: &[&str]| Intent {
        name: "main".to_string(),
        cidr_block: "10.0.0.0/16".to_string(),
        availability_zone: None,
        vpc_id: None,
        existing: existing.iter().map(|s| s.to_string()).collect(),
    };
    let address = Address::new(Kind::Vpc, "main");
    let mut state = State::new("lineage-1");
    state.intents.insert(address, vpc_intent(&[&stranger.id]));
    // The process died before the call reached the platform: nothing is adopted, the
    // create is still to do, and the intent is resolved.
    let (next, drift) = refresh(&state, &sim.inventory().unwrap());
    assert!(next.resources.is_empty() && drift.is_empty() && next.intents.is_empty());
    // The call made the VPC, and the process died before recording it.
    let made = sim.create_vpc("main", net("10.0.0.0/16")).unwrap();
    let (adopted, drift) = refresh(&state, &sim.inventory().unwrap());
    assert_eq!(adopted.resources[&address].id, made.id);
    assert!(matches!(drift[0].kind, DriftKind::Adopted));
    assert!(adopted.intents.is_empty());
    // Without knowing the stranger was there before, two candidates: neither is taken.
    state.intents.insert(address, vpc_intent(&[]));
    let (next, _) = refresh(&state, &sim.inventory().unwrap());
    assert!(next.resources.is_empty());
    // A subnet: by name, block, zone and VPC.
    let subnet = sim
        .create_subnet("app-a", &made.id, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
    let mut state = adopted;
    let subnet_address = Address::new(Kind::Subnet, "app-a");
    let mut subnet_intent = Intent {
        name: "app-a".to_string(),
        cidr_block: "10.0.1.0/24".to_string(),
        availability_zone: Some("kr-central-2-b".to_string()),
        vpc_id: Some(made.id.clone()),
        existing: Default::default(),
    };
    state.intents.insert(subnet_address, subnet_intent.clone());
    let (next, _) = refresh(&state, &sim.inventory().unwrap());
    assert!(
        !next.resources.contains_key(&subnet_address),
        "another zone"
    );
    subnet_intent.availability_zone = Some("kr-central-2-a".to_string());
    state.intents.insert(subnet_address, subnet_intent);
    let (next, _) = refresh(&state, &sim.inventory().unwrap());
    assert_eq!(next.resources[&subnet_address].id, subnet.id);
    // The intent survives a write and a read of the state.
    let text = state.to_json();
    assert_eq!(State::from_json("s", &text).unwrap().intents, state.intents);
}

/// The journal beside the simulator's file.
fn journal_of(path: &std::path::Path) -> std::path::PathBuf {
    path.with_extension("json.journal")
}

/// The bytes of the simulator's file and journal (`None` where missing).
fn files_of(path: &std::path::Path) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    (
        std::fs::read(path).ok(),
        std::fs::read(journal_of(path)).ok(),
    )
}

/// A simulator on `path` whose changes are immediate.
fn quick(path: &std::path::Path) -> Sim {
    let mut sim = Sim::open(path, true).unwrap();
    sim.set_build_time(Duration::ZERO);
    sim
}

#[test]
fn two_simulators_on_one_file_see_each_others_changes_call_by_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let one = quick(&path);
    let two = quick(&path);
    let vpc = one.create_vpc("v", net("10.0.0.0/16")).unwrap();
    let subnet = two
        .create_subnet("a", &vpc.id, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
    let sg = one.create_security_group("sg", "").unwrap();
    let n0 = two
        .create_nic(&nic_request("n0", &subnet.id, &[&sg.id]))
        .unwrap();
    // Each continues the other's counter and addresses.
    let n1 = one
        .create_nic(&nic_request("n1", &subnet.id, &[&sg.id]))
        .unwrap();
    assert_eq!(n0.private_ip, ip("10.0.1.2"));
    assert_eq!(n1.private_ip, ip("10.0.1.3"));
    let vm = two
        .create_instance(&instance_request("vm", "m2a.large", &n0.id))
        .unwrap();
    one.attach_nic(&vm.id, &n1.id).unwrap();
    assert_eq!(
        two.instance(&vm.id).unwrap().attached_nic_ids,
        [n0.id.clone(), n1.id.clone()]
    );
    rejected(&two, "already attached", || two.attach_nic(&vm.id, &n1.id));
    one.set_instance_status("vm", Status::Stopped).unwrap();
    assert_eq!(two.instance(&vm.id).unwrap().status, Status::Stopped);
    let world = one.world().unwrap();
    assert_eq!(world, two.world().unwrap());
    assert_eq!(world, Sim::stored(&path).unwrap());
    assert_eq!(world.counter, 6);
    assert_eq!(world.seq, 8, "one record per change");
}

#[test]
fn a_torn_last_journal_record_is_ignored_and_the_next_change_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let sim = quick(&path);
    sim.create_vpc("v", net("10.0.0.0/16")).unwrap();
    sim.create_security_group("one", "").unwrap();
    let before = sim.world().unwrap();
    drop(sim);
    // A writer killed halfway through its line: half a record, no newline.
    let journal = journal_of(&path);
    let text = std::fs::read_to_string(&journal).unwrap();
    let last = text.lines().last().unwrap().to_string();
    let torn = last
        .replacen("\"seq\":2", "\"seq\":3", 1)
        .replace("one", "two");
    assert_ne!(torn, last);
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(&torn.as_bytes()[..torn.len() / 2]);
    std::fs::write(&journal, &bytes).unwrap();

    let sim = quick(&path);
    assert_eq!(
        sim.world().unwrap(),
        before,
        "the torn record is not part of the world"
    );
    assert_eq!(Sim::stored(&path).unwrap(), before);
    // Reading left the torn bytes where they were.
    assert_eq!(std::fs::read(&journal).unwrap(), bytes);
    let sg = sim.create_security_group("three", "").unwrap();
    assert_eq!(sg.id, "sg-000003");
    let after = Sim::stored(&path).unwrap();
    assert_eq!(after.seq, 3);
    assert!(after.security_groups.contains_key(&sg.id));
    // The torn bytes went: every line is a whole record.
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert_eq!(quick(&path).world().unwrap(), after);
}

#[test]
fn a_refused_call_leaves_the_files_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let sim = quick(&path);
    let vpc = sim.create_vpc("v", net("10.0.0.0/16")).unwrap();
    let subnet = sim
        .create_subnet("a", &vpc.id, net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
    sim.create_security_group("sg", "").unwrap();
    let before = files_of(&path);
    assert!(before.0.is_some() && before.1.is_some());
    rejected(&sim, "still holds subnet", || sim.delete_vpc(&vpc.id));
    rejected(&sim, "already exists", || {
        sim.create_security_group("sg", "").map(|_| ())
    });
    let mut pinned = nic_request("n", &subnet.id, &[]);
    pinned.private_ip = Some(ip("10.0.1.1"));
    rejected(&sim, "gateway address", || {
        sim.create_nic(&pinned).map(|_| ())
    });
    not_found(&sim, "instance", || sim.stop_instance("i-000404"));
    assert_eq!(files_of(&path), before);
    // Nor do reads.
    sim.inventory().unwrap();
    sim.world().unwrap();
    assert_eq!(files_of(&path), before);
}

/// A security group with a long description, so that the journal soon outgrows its
/// snapshot.
fn big_group(sim: &Sim, i: usize) {
    sim.create_security_group(&format!("sg-{i}"), &"x".repeat(400))
        .unwrap();
}

/// The length of the journal beside `path`, 0 when there is none.
fn journal_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(journal_of(path)).map_or(0, |m| m.len())
}

/// The ID of the security group named `name`.
fn group_id(sim: &Sim, name: &str) -> String {
    sim.world()
        .unwrap()
        .security_groups
        .values()
        .find(|g| g.name == name)
        .map(|g| g.id.clone())
        .unwrap()
}

#[test]
fn compaction_keeps_the_world_and_matches_a_world_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let file = quick(&path);
    let mut memory = Sim::in_memory(true);
    memory.set_build_time(Duration::ZERO);
    script(&file);
    script(&memory);
    let mut compactions = 0;
    for i in 0..1500 {
        let before = journal_len(&path);
        big_group(&file, i);
        big_group(&memory, i);
        compactions += usize::from(journal_len(&path) < before);
    }
    assert!(compactions >= 2, "{compactions} compactions");
    for sim in [&file, &memory] {
        sim.update_security_group(&group_id(sim, "sg-7"), "changed")
            .unwrap();
        sim.delete_security_group(&group_id(sim, "sg-8")).unwrap();
    }
    let world = file.world().unwrap();
    assert_eq!(world, memory.world().unwrap());
    assert_eq!(quick(&path).world().unwrap(), world);
    assert_eq!(Sim::stored(&path).unwrap(), world);
    assert_eq!(world.security_groups.len(), 1 + 1500 - 1);
    // The snapshot holds what was compacted into it, the journal the rest.
    let snapshot: World = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(snapshot.seq > 1000 && snapshot.seq < world.seq);
}

#[test]
fn a_crash_between_a_new_snapshot_and_the_journal_emptied_loads_the_right_world() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let sim = quick(&path);
    script(&sim);
    // Changes until one compacts: the journal as it was then, and the world after it.
    let mut compacted = None;
    for i in 0..2000 {
        let journal = std::fs::read(journal_of(&path)).unwrap_or_default();
        big_group(&sim, i);
        if (journal_len(&path) as usize) < journal.len() {
            compacted = Some((journal, sim.world().unwrap()));
            break;
        }
    }
    let (old_journal, world) = compacted.expect("the journal was never compacted");
    drop(sim);
    // The crash: the new snapshot is in place, the journal not emptied yet.
    std::fs::write(journal_of(&path), &old_journal).unwrap();
    let snapshot: World = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(snapshot, world);
    let sim = quick(&path);
    assert_eq!(sim.world().unwrap(), world);
    assert_eq!(Sim::stored(&path).unwrap(), world);
    // The next change follows the snapshot, after the old records.
    let sg = sim.create_security_group("after", "").unwrap();
    let after = Sim::stored(&path).unwrap();
    assert_eq!(after.seq, world.seq + 1);
    assert!(after.security_groups.contains_key(&sg.id));
    assert_eq!(after.security_groups.len(), world.security_groups.len() + 1);
    assert_eq!(quick(&path).world().unwrap(), after);
}

#[test]
fn a_journal_out_of_step_or_damaged_is_unavailable_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let sim = quick(&path);
    sim.create_vpc("v", net("10.0.0.0/16")).unwrap();
    sim.create_security_group("one", "").unwrap();
    drop(sim);
    let journal = journal_of(&path);
    let good = std::fs::read_to_string(&journal).unwrap();
    for bad in [
        // A record from the future: one is missing.
        good.replacen("\"seq\":2", "\"seq\":5", 1),
        // A whole line that is not a record.
        format!("{{\"seq\":2,\"vpcs\":[oops\n{good}"),
    ] {
        std::fs::write(&journal, &bad).unwrap();
        let before = files_of(&path);
        match Sim::open(&path, true) {
            Err(CloudError::Unavailable(message)) => {
                assert!(message.contains("sim.json.journal"), "{message}")
            }
            Err(other) => panic!("expected Unavailable, got {other:?}"),
            Ok(_) => panic!("a damaged journal was accepted"),
        }
        assert_eq!(files_of(&path), before);
    }
    // Damaged behind an open simulator's back: every call fails, nothing is written.
    std::fs::write(&journal, &good).unwrap();
    let sim = quick(&path);
    let bad = format!("{good}not a record\n");
    std::fs::write(&journal, &bad).unwrap();
    assert!(matches!(
        sim.create_security_group("two", ""),
        Err(CloudError::Unavailable(_))
    ));
    assert!(matches!(sim.inventory(), Err(CloudError::Unavailable(_))));
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), bad);
}

#[test]
fn a_read_of_one_object_shows_it_and_what_it_names_as_the_whole_inventory_does() {
    let sim = Sim::in_memory(true);
    sim.operator_create_vpc("main", net("10.0.0.0/16")).unwrap();
    sim.operator_create_vpc("other", net("10.1.0.0/16"))
        .unwrap();
    sim.operator_create_subnet("app-a", "main", net("10.0.1.0/24"), "kr-central-2-a")
        .unwrap();
    sim.operator_create_subnet("db-a", "main", net("10.0.2.0/24"), "kr-central-2-a")
        .unwrap();
    sim.operator_create_subnet("far", "other", net("10.1.1.0/24"), "kr-central-2-b")
        .unwrap();
    sim.operator_create_security_group("web-sg").unwrap();
    sim.operator_create_security_group("db-sg").unwrap();
    let web = ["web-sg".to_string()];
    let db = ["db-sg".to_string()];
    let vm = sim
        .operator_create_instance("web-1", "m2a.large", "app-a", None, &web)
        .unwrap();
    sim.operator_create_instance("web-2", "m2a.large", "app-a", None, &web)
        .unwrap();
    let second = sim
        .operator_create_nic("web-1-eth1", "db-a", None, &db, Some(&vm))
        .unwrap();
    sim.operator_create_nic("spare", "far", None, &web, None)
        .unwrap();
    let public = sim.operator_create_public_ip(Some(&second)).unwrap();
    sim.operator_create_public_ip(None).unwrap();

    let all = sim.inventory().unwrap();
    let ids: Vec<String> = all
        .vpcs
        .keys()
        .chain(all.subnets.keys())
        .chain(all.security_groups.keys())
        .chain(all.instances.keys())
        .chain(all.nics.keys())
        .chain(all.public_ips.keys())
        .cloned()
        .collect();
    for id in &ids {
        let near = sim.inventory_near(&[id.as_str()]).unwrap();
        // Every object it holds is exactly as the whole inventory shows it.
        for (k, v) in &near.vpcs {
            assert_eq!(Some(v), all.vpcs.get(k), "{id}");
        }
        for (k, v) in &near.subnets {
            assert_eq!(Some(v), all.subnets.get(k), "{id}");
            assert!(near.vpcs.contains_key(&v.vpc_id), "{id}: the subnet's VPC");
        }
        for (k, v) in &near.security_groups {
            assert_eq!(Some(v), all.security_groups.get(k), "{id}");
        }
        for (k, v) in &near.instances {
            assert_eq!(Some(v), all.instances.get(k), "{id}");
            for n in &v.attached_nic_ids {
                assert!(near.nics.contains_key(n), "{id}: the instance's NIC {n}");
            }
        }
        for (k, v) in &near.nics {
            assert_eq!(Some(v), all.nics.get(k), "{id}");
            assert!(
                near.subnets.contains_key(&v.subnet_id),
                "{id}: the NIC's subnet"
            );
            for g in &v.security_group_ids {
                assert!(near.security_groups.contains_key(g), "{id}: group {g}");
            }
            for p in all
                .public_ips
                .values()
                .filter(|p| p.nic_id.as_ref() == Some(k))
            {
                assert!(near.public_ips.contains_key(&p.id), "{id}: its public IP");
            }
        }
        for (k, v) in &near.public_ips {
            assert_eq!(Some(v), all.public_ips.get(k), "{id}");
        }
        let holds = near.vpcs.contains_key(id)
            || near.subnets.contains_key(id)
            || near.security_groups.contains_key(id)
            || near.instances.contains_key(id)
            || near.nics.contains_key(id)
            || near.public_ips.contains_key(id);
        assert!(holds, "{id} itself");
    }
    // And no more than that: the instance's read leaves the other VPC's spare NIC out.
    let near = sim.inventory_near(&[vm.as_str()]).unwrap();
    assert_eq!(near.instances.len(), 1);
    assert_eq!(near.nics.len(), 2);
    assert!(near.public_ips.contains_key(&public));
    assert!(!near.subnets.values().any(|s| s.name == "far"));
}
