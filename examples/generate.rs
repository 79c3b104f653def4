//! Writes a realistic desired-state file of N instances, for benchmarks and tests:
//!
//! ```sh
//! cargo run --release --example generate -- --instances 10000 --seed 1 > net.yaml
//! cargo run --release --example generate -- --instances 10000 --seed 1 --change-percent 5 --out net-5.yaml
//! ```
//!
//! The network: one VPC (a /16) per 10,000 instances, at least three; in each VPC four
//! /20 subnets (app, data, mgmt, store) in each of the zones `kr-central-2-a`, `-b` and
//! `-c`; ten security groups; instances of every type of the catalogue first, then types
//! drawn mostly from the virtual-machine families, with some accelerated and some bare
//! metal; every instance's primary NIC in its zone's app subnet, and zero to three
//! secondary NICs in the zone's other subnets, never more than the type holds; about half
//! of the primaries and a third of the secondaries pin their `private_ip` (unique inside
//! their subnet), the rest are assigned by the cloud; a public IP on about a fifth of the
//! instances and a few unassociated ones; `settings.quotas` raised to what the file holds.
//! Bare-metal servers go without security groups on some NICs and bond them on some.
//!
//! The same `--instances` and `--seed` always give the same bytes. `--change-percent P`
//! writes the same network with P% of the instances changed, one change each, drawn from
//! a mix: a resize (of an instance that may be stopped), an added or a removed secondary
//! NIC, a changed security group list, a public IP moved to another of the instance's
//! NICs. The file validates with no error with the `sim` and `kakaocloud` backends.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;

use clap::Parser;
use nicplan::catalogue::{CATALOGUE, FlavorKind, Group, InstanceType};

#[derive(Parser)]
#[command(about = "Write a realistic nicplan desired-state file of N instances")]
pub struct Args {
    /// How many instances.
    #[arg(long)]
    pub instances: usize,
    /// The seed: the same instances and seed give the same file, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Change this share of the instances (0 to 100), one change each.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub change_percent: f64,
    /// Write the file here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
}

/// splitmix64: tiny, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True once in `n` draws.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// Instances per VPC at most: 3,334 per zone, each with at most one NIC per /20.
const PER_VPC: usize = 10_000;
const ZONES: [&str; 3] = ["a", "b", "c"];
/// Subnet roles per zone; the first holds the primary NICs.
const ROLES: [&str; 4] = ["app", "data", "mgmt", "store"];
/// Where pinned addresses start in each subnet; the cloud assigns from network + 2.
const PIN_FROM: u32 = 16;
const GROUPS: [(&str, Option<&str>); 10] = [
    ("web-sg", Some("web tier")),
    ("app-sg", None),
    ("db-sg", Some("databases")),
    ("cache-sg", None),
    ("batch-sg", Some("batch workers")),
    ("gpu-sg", None),
    ("mgmt-sg", Some("management network")),
    ("storage-sg", None),
    ("bastion-sg", Some("ssh from the office")),
    ("monitor-sg", None),
];
const IMAGES: [&str; 3] = ["ubuntu-22.04", "ubuntu-24.04", "rocky-9.4"];

struct Subnet {
    name: String,
    vpc: usize,
    zone: usize,
    base: u32,
    next_pin: u32,
}

struct Nic {
    name: String,
    subnet: usize,
    private_ip: Option<Ipv4Addr>,
    groups: Vec<usize>,
    description: Option<&'static str>,
    source_dest_check: bool,
}

struct Instance {
    name: String,
    ty: &'static InstanceType,
    image: &'static str,
    vpc: usize,
    zone: usize,
    root_volume_gb: Option<u32>,
    allow_stop: bool,
    prevent_destroy: bool,
    bonding: bool,
    nics: Vec<Nic>,
    /// The NIC (index into `nics`) its public IP is on.
    public_ip: Option<usize>,
    /// The highest `ethN` it has had, so an added NIC gets a new name.
    last_eth: usize,
}

struct Network {
    vpcs: usize,
    subnets: Vec<Subnet>,
    instances: Vec<Instance>,
    spare_public_ips: usize,
}

fn role_of(ty: &InstanceType, rng: &mut Rng) -> (&'static str, usize) {
    // (name prefix, security group of its primary NIC)
    if ty.is_bare_metal() {
        return ("bm", 1);
    }
    match ty.group {
        Group::General => {
            if rng.one_in(2) {
                ("web", 0)
            } else {
                ("app", 1)
            }
        }
        Group::MemoryOptimized => {
            if rng.one_in(2) {
                ("db", 2)
            } else {
                ("cache", 3)
            }
        }
        Group::ComputeOptimized => ("batch", 4),
        Group::AcceleratedComputing => ("gpu", 5),
        Group::VideoTranscoding => ("vt", 5),
    }
}

/// A type drawn mostly from the virtual-machine families.
fn draw_type(rng: &mut Rng) -> &'static InstanceType {
    let weight = |t: &InstanceType| match t.kind() {
        FlavorKind::Vm => 8,
        FlavorKind::Gpu | FlavorKind::Bm => 1,
    };
    let total: usize = CATALOGUE.iter().map(weight).sum();
    let mut pick = rng.below(total);
    for t in CATALOGUE {
        let w = weight(t);
        if pick < w {
            return t;
        }
        pick -= w;
    }
    &CATALOGUE[0]
}

fn subnet_index(vpc: usize, role: usize, zone: usize) -> usize {
    vpc * ROLES.len() * ZONES.len() + role * ZONES.len() + zone
}

fn pin(subnet: &mut Subnet) -> Ipv4Addr {
    let ip = Ipv4Addr::from(subnet.base + subnet.next_pin);
    subnet.next_pin += 1;
    ip
}

fn generate(n: usize, seed: u64) -> Network {
    let mut rng = Rng(seed);
    let vpcs = n.div_ceil(PER_VPC).max(3);
    let mut subnets = Vec::new();
    for vpc in 0..vpcs {
        for (r, role) in ROLES.iter().enumerate() {
            for (z, zone) in ZONES.iter().enumerate() {
                let j = (r * ZONES.len() + z) as u32;
                subnets.push(Subnet {
                    name: format!("net{:02}-{role}-{zone}", vpc + 1),
                    vpc,
                    zone: z,
                    base: u32::from(Ipv4Addr::new(10, vpc as u8, 0, 0)) + (j << 12),
                    next_pin: PIN_FROM,
                });
            }
        }
    }
    let mut instances = Vec::with_capacity(n);
    for i in 0..n {
        // Contiguous blocks per VPC, zones in turn inside each.
        let vpc = i * vpcs / n;
        let first = (vpc * n).div_ceil(vpcs);
        let zone = (i - first) % ZONES.len();
        // Every type of the catalogue first, then drawn.
        let ty = CATALOGUE.get(i).unwrap_or_else(|| draw_type(&mut rng));
        let (role, group) = role_of(ty, &mut rng);
        let bare = ty.is_bare_metal();
        let name = format!("{role}-{i:06}");
        let mut inst = Instance {
            name: name.clone(),
            ty,
            image: IMAGES[rng.below(IMAGES.len())],
            vpc,
            zone,
            root_volume_gb: (!bare && rng.one_in(3)).then(|| [50, 100, 200, 500][rng.below(4)]),
            allow_stop: ty.kind() == FlavorKind::Vm && !rng.one_in(4),
            prevent_destroy: rng.one_in(50),
            bonding: bare && rng.one_in(2),
            nics: Vec::new(),
            public_ip: None,
            last_eth: 0,
        };
        let primary_subnet = subnet_index(vpc, 0, zone);
        let mut groups = Vec::new();
        if !(bare && rng.one_in(2)) {
            groups.push(group);
            if rng.one_in(4) {
                groups.push(9);
            }
        }
        let private_ip = rng.one_in(2).then(|| pin(&mut subnets[primary_subnet]));
        inst.nics.push(Nic {
            name: format!("{name}-eth0"),
            subnet: primary_subnet,
            private_ip,
            groups,
            description: None,
            // A NAT instance now and then.
            source_dest_check: bare || !rng.one_in(100),
        });
        let secondaries = match rng.below(10) {
            0..=2 => 0,
            3..=6 => 1,
            7 | 8 => 2,
            _ => 3,
        };
        let secondaries = secondaries.min(ty.max_network_interfaces as usize - 1);
        let start = rng.below(3);
        for k in 0..secondaries {
            let role = 1 + (start + k) % 3;
            let subnet = subnet_index(vpc, role, zone);
            let groups = if bare && rng.one_in(2) {
                Vec::new()
            } else {
                vec![[2, 6, 7][role - 1]]
            };
            let private_ip = rng.one_in(3).then(|| pin(&mut subnets[subnet]));
            inst.last_eth = k + 1;
            inst.nics.push(Nic {
                name: format!("{name}-eth{}", k + 1),
                subnet,
                private_ip,
                groups,
                description: rng
                    .one_in(4)
                    .then_some(["data link", "management", "storage"][role - 1]),
                source_dest_check: true,
            });
        }
        if rng.one_in(5) {
            inst.public_ip = Some(0);
        }
        instances.push(inst);
    }
    Network {
        vpcs,
        subnets,
        instances,
        spare_public_ips: n / 200,
    }
}

/// Another size of the same family, a virtual machine that holds the instance's NICs.
fn resize_target(inst: &Instance, rng: &mut Rng) -> Option<&'static InstanceType> {
    let sizes: Vec<&'static InstanceType> = CATALOGUE
        .iter()
        .filter(|t| {
            t.family == inst.ty.family
                && t.size != inst.ty.size
                && t.kind() == FlavorKind::Vm
                && t.max_network_interfaces as usize >= inst.nics.len()
        })
        .collect();
    (!sizes.is_empty()).then(|| sizes[rng.below(sizes.len())])
}

/// Changes `percent`% of the instances, one change each.
fn change(net: &mut Network, percent: f64, seed: u64) {
    let n = net.instances.len();
    let count = ((n as f64 * percent / 100.0).round() as usize).min(n);
    let mut rng = Rng(seed ^ 0xC4A9_6E5D_0000_0001);
    // The first `count` of a partial shuffle.
    let mut order: Vec<usize> = (0..n).collect();
    for k in 0..count {
        let j = k + rng.below(n - k);
        order.swap(k, j);
    }
    let mut chosen = order[..count].to_vec();
    chosen.sort_unstable();
    for i in chosen {
        let first = rng.below(5);
        for attempt in 0..5 {
            if apply_change(&mut net.instances[i], (first + attempt) % 5, &mut rng) {
                break;
            }
        }
    }
}

/// One change of kind `kind` to `inst`; false when that kind does not fit it.
fn apply_change(inst: &mut Instance, kind: usize, rng: &mut Rng) -> bool {
    let bare = inst.ty.is_bare_metal();
    match kind {
        // A resize, of an instance the plan may stop.
        0 => {
            if !inst.allow_stop {
                return false;
            }
            match resize_target(inst, rng) {
                Some(t) => {
                    inst.ty = t;
                    true
                }
                None => false,
            }
        }
        // A secondary NIC more, in a subnet of its zone it is not in yet.
        1 => {
            if inst.nics.len() >= inst.ty.max_network_interfaces as usize {
                return false;
            }
            let used: Vec<usize> = inst.nics.iter().map(|n| n.subnet).collect();
            let Some(role) =
                (1..ROLES.len()).find(|&r| !used.contains(&subnet_index(inst.vpc, r, inst.zone)))
            else {
                return false;
            };
            inst.last_eth += 1;
            inst.nics.push(Nic {
                name: format!("{}-eth{}", inst.name, inst.last_eth),
                subnet: subnet_index(inst.vpc, role, inst.zone),
                private_ip: None,
                groups: if bare {
                    Vec::new()
                } else {
                    vec![[2, 6, 7][role - 1]]
                },
                description: Some("added"),
                source_dest_check: true,
            });
            true
        }
        // Its last secondary NIC removed.
        2 => {
            if inst.nics.len() < 2 || inst.public_ip == Some(inst.nics.len() - 1) {
                return false;
            }
            inst.nics.pop();
            true
        }
        // Another security group list on its primary NIC.
        3 => {
            let groups = &mut inst.nics[0].groups;
            if groups.contains(&8) {
                groups.retain(|&g| g != 8);
            } else {
                groups.push(8);
            }
            true
        }
        // Its public IP moved to one of its secondary NICs.
        _ => match inst.public_ip {
            Some(on) if inst.nics.len() > 1 => {
                inst.public_ip = Some(if on == 1 { 0 } else { 1 });
                true
            }
            _ => false,
        },
    }
}

fn render(net: &Network, header: &str) -> String {
    let n = net.instances.len();
    let mut y = String::with_capacity(n * 400 + 4096);
    let _ = writeln!(y, "# {header}");
    y.push_str("version: 1\n");
    let _ = write!(
        y,
        "settings:\n  quotas: {{ vpcs: {}, subnets: {}, instances: {} }}\n",
        net.vpcs.max(3),
        net.subnets.len().max(30),
        n.max(500)
    );
    y.push_str("vpcs:\n");
    for v in 0..net.vpcs {
        let _ = write!(y, "  net{:02}:\n    cidr_block: 10.{v}.0.0/16\n", v + 1);
    }
    y.push_str("subnets:\n");
    for s in &net.subnets {
        let _ = write!(
            y,
            "  {}:\n    vpc: net{:02}\n    cidr_block: {}/20\n    availability_zone: kr-central-2-{}\n",
            s.name,
            s.vpc + 1,
            Ipv4Addr::from(s.base),
            ZONES[s.zone]
        );
    }
    y.push_str("security_groups:\n");
    for (name, description) in GROUPS {
        match description {
            Some(d) => {
                let _ = writeln!(y, "  {name}: {{ description: {d} }}");
            }
            None => {
                let _ = writeln!(y, "  {name}: {{}}");
            }
        }
    }
    y.push_str("instances:\n");
    for i in &net.instances {
        let _ = write!(
            y,
            "  {}:\n    type: {}\n    image: {}\n    primary_interface: {}\n",
            i.name,
            i.ty.name(),
            i.image,
            i.nics[0].name
        );
        if let Some(gb) = i.root_volume_gb {
            let _ = writeln!(y, "    root_volume_gb: {gb}");
        }
        if i.bonding {
            y.push_str("    bonding: true\n");
        }
        match (i.allow_stop, i.prevent_destroy) {
            (true, true) => {
                y.push_str("    lifecycle: { allow_stop: true, prevent_destroy: true }\n")
            }
            (true, false) => y.push_str("    lifecycle: { allow_stop: true }\n"),
            (false, true) => y.push_str("    lifecycle: { prevent_destroy: true }\n"),
            (false, false) => {}
        }
    }
    y.push_str("network_interfaces:\n");
    for i in &net.instances {
        for (k, nic) in i.nics.iter().enumerate() {
            let _ = write!(
                y,
                "  {}:\n    subnet: {}\n",
                nic.name, net.subnets[nic.subnet].name
            );
            if let Some(ip) = nic.private_ip {
                let _ = writeln!(y, "    private_ip: {ip}");
            }
            if !nic.groups.is_empty() {
                let names: Vec<&str> = nic.groups.iter().map(|&g| GROUPS[g].0).collect();
                let _ = writeln!(y, "    security_groups: [{}]", names.join(", "));
            }
            if let Some(d) = nic.description {
                let _ = writeln!(y, "    description: {d}");
            }
            if !nic.source_dest_check {
                y.push_str("    source_dest_check: false\n");
            }
            if k > 0 {
                let _ = writeln!(y, "    attach_to: {}", i.name);
            }
        }
    }
    y.push_str("public_ips:\n");
    for i in &net.instances {
        if let Some(on) = i.public_ip {
            let _ = write!(
                y,
                "  {}-pip:\n    network_interface: {}\n",
                i.name, i.nics[on].name
            );
        }
    }
    for k in 0..net.spare_public_ips {
        let _ = writeln!(y, "  spare-pip-{k:04}: {{}}");
    }
    y
}

/// The file the arguments ask for, or what is wrong with them.
pub fn file(args: &Args) -> Result<String, String> {
    if args.instances == 0 {
        return Err("--instances must be at least 1".to_string());
    }
    if args.instances > 255 * PER_VPC {
        return Err(format!("--instances can be at most {}", 255 * PER_VPC));
    }
    if !(0.0..=100.0).contains(&args.change_percent) {
        return Err("--change-percent must be between 0 and 100".to_string());
    }
    let mut net = generate(args.instances, args.seed);
    let mut header = format!(
        "generated by examples/generate.rs --instances {} --seed {}",
        args.instances, args.seed
    );
    if args.change_percent > 0.0 {
        change(&mut net, args.change_percent, args.seed);
        let _ = write!(header, " --change-percent {}", args.change_percent);
    }
    Ok(render(&net, &header))
}

fn main() {
    let args = Args::parse();
    let text = match file(&args) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let written = match &args.out {
        Some(path) => std::fs::write(path, text.as_bytes()),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    if let Err(e) = written {
        eprintln!("error: cannot write the file: {e}");
        std::process::exit(1);
    }
}
