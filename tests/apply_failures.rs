//! The executor when the cloud fails: a failed step stops what depends on it, lets
//! independent steps finish, reports exactly what was and was not done, and the state
//! holds every completed step, so the next apply picks up from there.

use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;
use nicplan::cloud::sim::Sim;
use nicplan::cloud::{
    Cloud, CloudError, CloudInstance, CloudNic, CloudPublicIp, CloudSecurityGroup, CloudSubnet,
    CloudVpc, InstanceRequest, Inventory, NicRequest, NicUpdate,
};
use nicplan::plan::{Action, Options};
use nicplan::state::StateStore;
use nicplan::state::memory::MemoryStore;
use nicplan::{apply, ops};

/// The simulator, except that creating the instance named `broken` fails as a platform
/// outage would.
struct Faulty {
    sim: Sim,
    broken: &'static str,
}

impl Cloud for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn multiple_ips(&self) -> bool {
        self.sim.multiple_ips()
    }
    fn inventory(&self) -> Result<Inventory, CloudError> {
        self.sim.inventory()
    }
    fn instance(&self, id: &str) -> Result<CloudInstance, CloudError> {
        self.sim.instance(id)
    }
    fn vpc(&self, id: &str) -> Result<CloudVpc, CloudError> {
        self.sim.vpc(id)
    }
    fn subnet(&self, id: &str) -> Result<CloudSubnet, CloudError> {
        self.sim.subnet(id)
    }
    fn security_group(&self, id: &str) -> Result<CloudSecurityGroup, CloudError> {
        self.sim.security_group(id)
    }
    fn nic(&self, id: &str) -> Result<CloudNic, CloudError> {
        self.sim.nic(id)
    }
    fn public_ip(&self, id: &str) -> Result<CloudPublicIp, CloudError> {
        self.sim.public_ip(id)
    }
    fn stop_instance(&self, id: &str) -> Result<(), CloudError> {
        self.sim.stop_instance(id)
    }
    fn start_instance(&self, id: &str) -> Result<(), CloudError> {
        self.sim.start_instance(id)
    }
    fn create_vpc(&self, name: &str, cidr: Ipv4Net) -> Result<CloudVpc, CloudError> {
        self.sim.create_vpc(name, cidr)
    }
    fn delete_vpc(&self, id: &str) -> Result<(), CloudError> {
        self.sim.delete_vpc(id)
    }
    fn create_subnet(
        &self,
        name: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<CloudSubnet, CloudError> {
        self.sim.create_subnet(name, vpc_id, cidr, zone)
    }
    fn delete_subnet(&self, id: &str) -> Result<(), CloudError> {
        self.sim.delete_subnet(id)
    }
    fn create_security_group(
        &self,
        name: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        self.sim.create_security_group(name, description)
    }
    fn update_security_group(
        &self,
        id: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        self.sim.update_security_group(id, description)
    }
    fn delete_security_group(&self, id: &str) -> Result<(), CloudError> {
        self.sim.delete_security_group(id)
    }
    fn create_nic(&self, request: &NicRequest) -> Result<CloudNic, CloudError> {
        self.sim.create_nic(request)
    }
    fn update_nic(&self, id: &str, update: &NicUpdate) -> Result<CloudNic, CloudError> {
        self.sim.update_nic(id, update)
    }
    fn delete_nic(&self, id: &str) -> Result<(), CloudError> {
        self.sim.delete_nic(id)
    }
    fn create_instance(&self, request: &InstanceRequest) -> Result<CloudInstance, CloudError> {
        if request.name == self.broken {
            return Err(CloudError::Unavailable(
                "503 Service Unavailable".to_string(),
            ));
        }
        self.sim.create_instance(request)
    }
    fn resize_instance(&self, id: &str, flavor: &str) -> Result<CloudInstance, CloudError> {
        self.sim.resize_instance(id, flavor)
    }
    fn delete_instance(&self, id: &str) -> Result<(), CloudError> {
        self.sim.delete_instance(id)
    }
    fn attach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.sim.attach_nic(instance_id, nic_id)
    }
    fn detach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.sim.detach_nic(instance_id, nic_id)
    }
    fn create_public_ip(&self, description: &str) -> Result<CloudPublicIp, CloudError> {
        self.sim.create_public_ip(description)
    }
    fn associate_public_ip(
        &self,
        id: &str,
        nic_id: &str,
        private_ip: Option<Ipv4Addr>,
    ) -> Result<CloudPublicIp, CloudError> {
        self.sim.associate_public_ip(id, nic_id, private_ip)
    }
    fn disassociate_public_ip(&self, id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.sim.disassociate_public_ip(id, nic_id)
    }
    fn delete_public_ip(&self, id: &str) -> Result<(), CloudError> {
        self.sim.delete_public_ip(id)
    }
}

#[test]
fn a_failed_step_stops_its_dependents_only_and_the_next_apply_finishes() {
    let text = std::fs::read("tests/e2e/base.yaml").expect("base");
    let model = nicplan::validate("base.yaml", text, None)
        .model
        .expect("model");
    let mut sim = Sim::in_memory(true);
    sim.set_build_time(Duration::ZERO);
    let faulty = Faulty {
        sim,
        broken: "web-2",
    };
    let store = MemoryStore::new();
    let planned = ops::plan(&model, &store, &faulty, true, &Options::default()).expect("plans");
    let plan = planned.plan.clone();
    let index_of = |action: Action, address: &str| {
        plan.steps
            .iter()
            .find(|s| s.action == action && s.address.to_string() == address)
            .map(|s| s.index)
            .expect("step in plan")
    };
    let (_, outcome) = ops::apply(
        planned,
        &store,
        &faulty,
        &apply::Options::default(),
        &|_| {},
    )
    .expect("runs");

    let broken = index_of(Action::Create, "instance.web-2");
    assert_eq!(outcome.failed.len(), 1, "{outcome:#?}");
    assert_eq!(outcome.failed[0].0, broken);
    assert!(outcome.failed[0].1.contains("503"), "{outcome:#?}");
    // The attaches to web-2 wait for it and do not run; everything else does.
    let mut skipped: Vec<usize> = outcome.skipped.iter().map(|(i, _)| *i).collect();
    skipped.sort_unstable();
    let mut expected = vec![
        index_of(Action::Attach, "network_interface.web-2-eth1"),
        index_of(Action::Attach, "network_interface.web-2-eth2"),
    ];
    expected.sort_unstable();
    assert_eq!(skipped, expected, "{outcome:#?}");
    assert_eq!(outcome.done.len(), plan.steps.len() - 3);
    assert!(
        outcome
            .done
            .contains(&index_of(Action::Attach, "network_interface.web-1-eth1"))
    );

    // The state holds every completed step.
    let state = store.read().expect("reads").expect("state");
    assert!(
        state
            .resources
            .keys()
            .any(|a| a.to_string() == "instance.web-1")
    );
    assert!(
        !state
            .resources
            .keys()
            .any(|a| a.to_string() == "instance.web-2")
    );
    assert!(
        state
            .resources
            .keys()
            .any(|a| a.to_string() == "network_interface.web-2-eth0")
    );

    // Once the platform recovers, the next plan does only what is left.
    let healed = Faulty {
        sim: faulty.sim,
        broken: "",
    };
    let next = ops::plan(&model, &store, &healed, true, &Options::default()).expect("plans");
    let left: Vec<String> = next.plan.steps.iter().map(|s| s.describe()).collect();
    assert_eq!(
        left,
        [
            "create instance.web-2",
            "attach network_interface.web-2-eth1 to instance.web-2",
            "attach network_interface.web-2-eth2 to instance.web-2",
        ]
    );
    let (_, outcome) =
        ops::apply(next, &store, &healed, &apply::Options::default(), &|_| {}).expect("runs");
    assert!(outcome.succeeded(), "{outcome:#?}");
    let last = ops::plan(&model, &store, &healed, true, &Options::default()).expect("plans");
    assert!(last.plan.steps.is_empty());
}
