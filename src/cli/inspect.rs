//! The commands that look at or adjust state without planning: `show`, `refresh`,
//! `import`, `state`, `force-unlock`, `graph`, and the simulator's operator controls.

use std::fmt::Write;

use clap::{Subcommand, ValueEnum};

use super::print;
use super::workspace::{Common, Error};
use crate::address::{Address, Kind};
use crate::ident::Ident;
use crate::ops;
use crate::plan;
use crate::refresh;
use crate::render;
use crate::resource::{Attributes, Status};
use crate::state::Entry;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// Readable text.
    Text,
    /// A plan's JSON document, or the state document.
    Json,
    /// A saved plan as a pull-request comment.
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out`; without it, the current state.
    plan_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    common: Common,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    format: ShowFormat,
}

#[derive(Debug, clap::Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// The address to adopt the object as, such as network_interface.web-1-eth1.
    #[arg(required_unless_present_any = ["all", "from_terraform"])]
    address: Option<Address>,
    /// The object's cloud ID.
    #[arg(required_unless_present_any = ["all", "from_terraform"])]
    id: Option<String>,
    /// Import objects that carry another state's marker: this state takes them over
    /// (the other must forget them, `nicplan state rm`, or it too still manages them).
    #[arg(long)]
    pub(super) take_over: bool,
    /// Adopt the whole network the cloud holds (or the VPCs --vpc names): write the file
    /// --write names, declaring every object, and record them all in the state.
    #[arg(long, requires = "write", conflicts_with_all = ["address", "from_terraform"])]
    pub(super) all: bool,
    /// With --all, only this VPC (by name or ID) and what its objects refer to;
    /// repeatable.
    #[arg(long, value_name = "NAME_OR_ID", requires = "all")]
    pub(super) vpc: Vec<String>,
    /// Adopt what a Terraform state of the KakaoCloud provider holds, from the JSON of
    /// `terraform show -json`: write the file --write names and the state, then refresh.
    #[arg(
        long,
        value_name = "STATE_JSON",
        requires = "write",
        conflicts_with = "address"
    )]
    pub(super) from_terraform: Option<std::path::PathBuf>,
    /// The desired-state file to write, with --all or --from-terraform.
    #[arg(long, value_name = "FILE")]
    pub(super) write: Option<std::path::PathBuf>,
    /// Overwrite the file --write names, and re-address objects the state already
    /// manages.
    #[arg(long)]
    pub(super) force: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List every address in state.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Show one resource's ID and attributes.
    Show {
        #[command(flatten)]
        common: Common,
        /// The address.
        address: Address,
    },
    /// Forget resources without touching the cloud.
    Rm {
        #[command(flatten)]
        common: Common,
        /// The addresses.
        #[arg(required = true)]
        addresses: Vec<Address>,
    },
    /// Rename a resource in state (after renaming it in the file).
    Mv {
        #[command(flatten)]
        common: Common,
        /// The current address.
        from: Address,
        /// The new address, of the same kind.
        to: Address,
    },
}

#[derive(Debug, clap::Args)]
pub struct ForceUnlockArgs {
    #[command(flatten)]
    common: Common,
    /// The lock ID, as the error naming the holder gave it.
    lock_id: String,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    #[command(flatten)]
    common: Common,
    /// The plan's steps and their ordering constraints instead of the resources (in
    /// Mermaid, each step marked as a creation, a change or a deletion).
    #[arg(long)]
    plan: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
}

/// Output formats of `graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT: every resource and every reference between them.
    Dot,
    /// A Mermaid flowchart: the network as nested VPC, zone and subnet groups, with
    /// instances, their NICs and public IPs (security groups left out), whole, never
    /// cut short.
    Mermaid,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulator over the KakaoCloud REST API, for `--backend kakaocloud`
    /// with KAKAOCLOUD_ENDPOINT pointing here. It accepts the application credential
    /// in KAKAOCLOUD_APPLICATION_CREDENTIAL_ID / _SECRET; with neither set, it makes one
    /// for the run and prints the `export` line to use it on standard error. It logs one
    /// line per request on standard error.
    Serve {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// Where to listen, such as 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Delay every API answer by this many milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Answer every Nth API request with 503, as an outage would.
        #[arg(long, value_name = "N")]
        fail_every: Option<u32>,
        /// Answer every Nth API request with 429, as throttling would.
        #[arg(long, value_name = "N")]
        throttle_every: Option<u32>,
        /// Answer this share of API requests (0 to 1) with 503, at random.
        #[arg(long, value_name = "RATE", default_value_t = 0.0)]
        fail_rate: f64,
        /// Answer this share of API requests with 429 and Retry-After, at random.
        #[arg(long, value_name = "RATE", default_value_t = 0.0)]
        throttle_rate: f64,
        /// Carry out this share of API requests and then lose the answer, at random.
        #[arg(long, value_name = "RATE", default_value_t = 0.0)]
        drop_rate: f64,
        /// The seed of the random faults, for a run that can be repeated.
        #[arg(long, value_name = "N", default_value_t = 0)]
        seed: u64,
    },
    /// Make a VPC in the simulator outside any state, as the console would.
    CreateVpc {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// Its name.
        name: String,
        /// Its block, such as 10.9.0.0/16.
        #[arg(long)]
        cidr: ipnet::Ipv4Net,
    },
    /// Make a subnet in the simulator outside any state.
    CreateSubnet {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// Its name.
        name: String,
        /// Its VPC, by name or ID.
        #[arg(long)]
        vpc: String,
        /// Its block.
        #[arg(long)]
        cidr: ipnet::Ipv4Net,
        /// Its zone.
        #[arg(long, default_value = "kr-central-2-a")]
        zone: String,
    },
    /// Make a security group in the simulator outside any state.
    CreateSecurityGroup {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// Its name.
        name: String,
    },
    /// Make a network interface in the simulator outside any state, attached to an
    /// instance when asked.
    CreateNic {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// Its name.
        name: String,
        /// Its subnet, by name or ID.
        #[arg(long)]
        subnet: String,
        /// Its address (else the lowest free one).
        #[arg(long)]
        ip: Option<std::net::Ipv4Addr>,
        /// A security group, by name or ID; repeatable.
        #[arg(long = "security-group", value_name = "GROUP")]
        security_groups: Vec<String>,
        /// Attach it to this instance, by name or ID.
        #[arg(long, value_name = "INSTANCE")]
        attach: Option<String>,
    },
    /// Make an instance in the simulator outside any state, with a new primary NIC.
    CreateInstance {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// Its name.
        name: String,
        /// Its type, FAMILY.SIZE.
        #[arg(long = "type", value_name = "TYPE")]
        instance_type: String,
        /// Its primary NIC's subnet, by name or ID.
        #[arg(long)]
        subnet: String,
        /// Its primary NIC's address (else the lowest free one).
        #[arg(long)]
        ip: Option<std::net::Ipv4Addr>,
        /// A security group of its primary NIC, by name or ID; repeatable.
        #[arg(long = "security-group", value_name = "GROUP")]
        security_groups: Vec<String>,
    },
    /// Allocate a public IP in the simulator outside any state, associated with a NIC
    /// when asked.
    CreatePublicIp {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// Associate it with this NIC, by name or ID.
        #[arg(long, value_name = "NIC")]
        nic: Option<String>,
    },
    /// Show or change how the simulated platform behaves: quotas, and whether deleting
    /// an instance leaves a primary NIC made beforehand.
    Settings {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// Keep (true) or delete (false) an instance's primary NIC when it is deleted.
        #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
        keep_primary_nic: Option<bool>,
        /// VPCs per project.
        #[arg(long, value_name = "N")]
        quota_vpcs: Option<u32>,
        /// Subnets per project.
        #[arg(long, value_name = "N")]
        quota_subnets: Option<u32>,
        /// Instances per project.
        #[arg(long, value_name = "N")]
        quota_instances: Option<u32>,
    },
    /// Set an instance's status (by name or ID) in the simulator.
    SetInstanceStatus {
        #[command(flatten)]
        file: super::workspace::FileArg,
        /// The instance's name or ID.
        name: String,
        /// active, stopped, shelved_offloaded or error.
        #[arg(value_parser = operator_status)]
        status: Status,
    },
}

/// The statuses an operator may set: transitions (`building`, `stopping`...) are the
/// simulator's own.
fn operator_status(s: &str) -> Result<Status, String> {
    match s.parse::<Status>()? {
        status if status.is_transient() => Err(format!(
            "`{}` is a transition the simulator goes through by itself; use active, stopped, shelved_offloaded or error",
            status.as_str()
        )),
        status => Ok(status),
    }
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn entry_text(address: &Address, entry: &Entry) -> String {
    let mut out = format!("{address} ({})\n", entry.id);
    if let serde_json::Value::Object(fields) = entry.attributes.to_value() {
        for (k, v) in fields {
            let _ = writeln!(out, "    {k} = {}", value_text(&v));
        }
    }
    out
}

pub fn exec_show(args: ShowArgs) -> Result<u8, Error> {
    if let Some(path) = &args.plan_file {
        let (body, rederived) = super::apply::load_saved(path)?;
        let format = match args.format {
            ShowFormat::Text => super::apply::PlanFormat::Text,
            ShowFormat::Json => super::apply::PlanFormat::Json,
            ShowFormat::Markdown => super::apply::PlanFormat::Markdown,
        };
        if format == super::apply::PlanFormat::Text {
            print(&format!(
                "# plan {} of {} (sha256 {}), for state lineage {} at serial {}\n\n",
                crate::render::text::escape_controls(&path.display().to_string()),
                crate::render::text::escape_controls(&body.desired.name),
                crate::render::text::escape_controls(&body.desired.sha256),
                crate::render::text::escape_controls(&body.lineage),
                body.serial
            ))?;
        }
        let planned = &rederived.planned;
        let network = rederived
            .validation
            .model
            .as_ref()
            .filter(|_| format == super::apply::PlanFormat::Markdown)
            .map(|model| crate::render::mermaid::Network::between(&planned.state, model));
        super::apply::print_rendered(
            format,
            &planned.plan,
            &planned.drift,
            &rederived.validation.source,
            network.as_ref(),
            None,
        )?;
        return Ok(0);
    }
    if args.format == ShowFormat::Markdown {
        return Err(Error::Usage(
            "--format markdown shows a saved plan; give the plan file".to_string(),
        ));
    }
    let ws = args.common.open(false)?;
    let Some(state) = ws.store.read()? else {
        print("No state yet: nothing has been applied.\n")?;
        return Ok(0);
    };
    let shown = render::state_view::shown(&state);
    match args.format {
        ShowFormat::Json => print(&render::state_view::json(&shown))?,
        ShowFormat::Text | ShowFormat::Markdown => {
            print(&render::state_text::text(&ws.store.describe(), &shown))?;
        }
    }
    Ok(0)
}

pub fn exec_refresh(args: RefreshArgs) -> Result<u8, Error> {
    let ws = args.common.open(false)?;
    let _lock = ws.lock("refresh")?;
    let Some(stored) = ws.store.read()? else {
        print("No state yet: nothing to refresh.\n")?;
        return Ok(0);
    };
    let (mut state, drift) = ops::refresh(&stored, &*ws.cloud)?;
    if drift.is_empty() {
        print("No changes outside nicplan.\n")?;
        // Statuses, and values the state never had (written before nicplan recorded
        // them): worth keeping, though none is a change.
        if state.resources == stored.resources {
            return Ok(0);
        }
    } else {
        print(&render::plan_text::drift(&drift))?;
    }
    ws.store.write(&mut state)?;
    print(&format!("State updated (serial {}).\n", state.serial))?;
    Ok(0)
}

pub fn exec_import(args: ImportArgs) -> Result<u8, Error> {
    if args.all || args.from_terraform.is_some() {
        return super::adopt::exec(args);
    }
    if args.write.is_some() || !args.vpc.is_empty() || args.force {
        return Err(Error::Usage(
            "--write and --force go with --all or --from-terraform; to import one object, give its address and ID".to_string(),
        ));
    }
    let (Some(address), Some(id)) = (args.address, args.id.clone()) else {
        return Err(Error::Usage(
            "give the address and the cloud ID to import".to_string(),
        ));
    };
    let ws = args.common.open(false)?;
    // As Terraform does: an object is imported into an address the file declares, so
    // the next plan manages it rather than deleting it.
    let declared = ws
        .validation
        .as_ref()
        .and_then(|v| v.model.as_ref())
        .is_some_and(|m| crate::resource::desired(m).contains_key(&address));
    if !declared {
        let file = args.common.file.path().display().to_string();
        return Err(Error::Usage(match &ws.validation {
            None => format!(
                "{} is not declared: there is no desired-state file {file}; declare the resource in the file first, then import it",
                address
            ),
            Some(_) => format!(
                "{} is not declared in {file}; declare it there first (as the object is in the cloud), then import it, so the next plan does not delete it",
                address
            ),
        }));
    }
    let _lock = ws.lock("import")?;
    let mut state = ops::read_state(&*ws.store)?;
    if let Some(entry) = state.resources.get(&address) {
        return Err(Error::Usage(format!(
            "{} is already in state as {}; `nicplan state rm {}` first to import another object",
            address, entry.id, address
        )));
    }
    if let Some((other, _)) = state.resources.iter().find(|(_, e)| e.id == id) {
        return Err(Error::Usage(format!(
            "{} is already managed as {other}",
            id
        )));
    }
    let inventory = ws.cloud.inventory().map_err(|e| Error::Cloud {
        backend: ws.cloud.name(),
        message: e.to_string(),
    })?;
    let mut names: refresh::Names = state
        .resources
        .iter()
        .map(|(a, e)| (e.id.clone(), *a))
        .collect();
    names.insert(id.clone(), address);
    let Some(attributes) = refresh::observe(&inventory, &names, address.kind, &id, None) else {
        return Err(Error::Usage(format!(
            "the {} backend has no {} with ID {}",
            ws.cloud.name(),
            address.kind.noun(),
            id
        )));
    };
    if let Some((prefix, as_address)) =
        refresh::other_marker(&inventory, &state.lineage, address.kind, &id)
    {
        if !args.take_over {
            return Err(Error::Usage(format!(
                "{} carries the marker of another state (lineage {prefix}..., where it is {as_address}): that state may manage it still. If it really moves here, forget it there (`nicplan state rm {as_address}` with that state) and import it with `--take-over`",
                id
            )));
        }
        state.taken_over.insert(id.clone());
    }
    let unmanaged = unmanaged_refs(&attributes);
    state.forgotten.remove(&id);
    state.resources.insert(
        address,
        Entry {
            id: id.clone(),
            attributes,
        },
    );
    ws.store.write(&mut state)?;
    let mut out = format!("Imported {} ({}).\n", address, id);
    for (kind, id) in unmanaged {
        let _ = writeln!(
            out,
            "note: it refers to {} {id}, which nicplan does not manage yet: declare it in the file and import it too, {}, so plans can name it (or adopt the whole network with `nicplan import --all --write FILE`)",
            kind.noun(),
            import_command(&inventory, kind, &id)
        );
    }
    print(&out)?;
    Ok(0)
}

/// The objects an imported object refers to that are not in state: kind and ID.
fn unmanaged_refs(attributes: &Attributes) -> Vec<(Kind, String)> {
    let mut refs: Vec<(Kind, &str)> = Vec::new();
    match attributes {
        Attributes::Subnet(s) => refs.push((Kind::Vpc, &s.vpc)),
        Attributes::NetworkInterface(n) => {
            refs.push((Kind::Subnet, &n.subnet));
            refs.extend(
                n.security_groups
                    .iter()
                    .map(|g| (Kind::SecurityGroup, g.as_str())),
            );
            refs.extend(n.attach_to.as_deref().map(|i| (Kind::Instance, i)));
        }
        Attributes::Instance(i) => refs.push((Kind::NetworkInterface, &i.primary_interface)),
        Attributes::PublicIp(p) => refs.extend(
            p.network_interface
                .as_deref()
                .map(|n| (Kind::NetworkInterface, n)),
        ),
        _ => {}
    }
    refs.into_iter()
        .filter_map(|(kind, r)| Some((kind, r.strip_prefix("id:")?.to_string())))
        .collect()
}

/// The command that imports `id` of `kind`, under the name the cloud gives it made
/// valid.
fn import_command(inventory: &crate::cloud::Inventory, kind: Kind, id: &str) -> String {
    let name = match kind {
        Kind::Vpc => inventory.vpcs.get(id).map(|o| o.name.as_str()),
        Kind::Subnet => inventory.subnets.get(id).map(|o| o.name.as_str()),
        Kind::SecurityGroup => inventory.security_groups.get(id).map(|o| o.name.as_str()),
        Kind::Instance => inventory.instances.get(id).map(|o| o.name.as_str()),
        Kind::NetworkInterface => inventory.nics.get(id).map(|o| o.name.as_str()),
        Kind::PublicIp => None,
    }
    .unwrap_or("");
    let address = Address::new(kind, crate::adopt::valid_name(name, kind, id));
    format!("`nicplan import {address} {id}`")
}

/// Renames every reference to `from` (of `kind`) in the attributes to `to`.
fn rename_refs(attributes: &mut Attributes, kind: Kind, from: &str, to: &str) {
    let swap = |v: &mut Ident| {
        if *v == from {
            *v = Ident::new(to);
        }
    };
    match (attributes, kind) {
        (Attributes::Subnet(s), Kind::Vpc) => swap(&mut s.vpc),
        (Attributes::NetworkInterface(n), Kind::Subnet) => swap(&mut n.subnet),
        (Attributes::NetworkInterface(n), Kind::SecurityGroup) => {
            let mut groups = n.security_groups.to_vec();
            groups.iter_mut().for_each(swap);
            groups.sort();
            n.security_groups = groups.into();
        }
        (Attributes::NetworkInterface(n), Kind::Instance) => {
            if let Some(a) = n.attach_to.as_mut() {
                swap(a);
            }
        }
        (Attributes::Instance(i), Kind::NetworkInterface) => swap(&mut i.primary_interface),
        (Attributes::PublicIp(p), Kind::NetworkInterface) => {
            if let Some(n) = p.network_interface.as_mut() {
                swap(n);
            }
        }
        _ => {}
    }
}

pub fn exec_state(command: StateCommand) -> Result<u8, Error> {
    match command {
        StateCommand::List { common } => {
            let ws = common.open(false)?;
            let state = ws
                .store
                .read()?
                .unwrap_or_else(|| crate::state::State::new(""));
            let mut out = String::new();
            for address in state.resources.keys() {
                let _ = writeln!(out, "{address}");
            }
            print(&out)?;
            Ok(0)
        }
        StateCommand::Show { common, address } => {
            let ws = common.open(false)?;
            let state = ws
                .store
                .read()?
                .unwrap_or_else(|| crate::state::State::new(""));
            let Some(entry) = state.resources.get(&address) else {
                return Err(Error::Usage(format!("{address} is not in state")));
            };
            print(&entry_text(&address, entry))?;
            Ok(0)
        }
        StateCommand::Rm { common, addresses } => {
            let ws = common.open(false)?;
            let _lock = ws.lock("state rm")?;
            let mut state = ops::read_state(&*ws.store)?;
            for address in &addresses {
                if !state.resources.contains_key(address) {
                    return Err(Error::Usage(format!(
                        "{address} is not in state; nothing was removed"
                    )));
                }
            }
            for address in &addresses {
                if let Some(entry) = state.resources.remove(address) {
                    // Never adopt it again by its marker.
                    state.taken_over.remove(&entry.id);
                    state.forgotten.insert(entry.id);
                }
            }
            ws.store.write(&mut state)?;
            print(&format!(
                "Removed {} from state; the cloud objects are untouched.\n",
                addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            Ok(0)
        }
        StateCommand::Mv { common, from, to } => {
            if from.kind != to.kind {
                return Err(Error::Usage(format!(
                    "{from} and {to} are of different kinds; a resource keeps its kind"
                )));
            }
            let ws = common.open(false)?;
            let _lock = ws.lock("state mv")?;
            let mut state = ops::read_state(&*ws.store)?;
            if state.resources.contains_key(&to) {
                return Err(Error::Usage(format!(
                    "{to} is already in state; nothing was moved"
                )));
            }
            let Some(entry) = state.resources.remove(&from) else {
                return Err(Error::Usage(format!(
                    "{from} is not in state; nothing was moved"
                )));
            };
            state.resources.insert(to, entry);
            for entry in state.resources.values_mut() {
                rename_refs(&mut entry.attributes, from.kind, &from.name, &to.name);
            }
            ws.store.write(&mut state)?;
            print(&format!("Moved {from} to {to}.\n"))?;
            Ok(0)
        }
    }
}

pub fn exec_force_unlock(args: ForceUnlockArgs) -> Result<u8, Error> {
    let ws = args.common.open(false)?;
    ws.store.force_unlock(&args.lock_id)?;
    print(&format!(
        "Released lock {} on {}.\n",
        args.lock_id,
        ws.store.describe()
    ))?;
    Ok(0)
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn exec_graph(args: GraphArgs) -> Result<u8, Error> {
    // A file with an error is refused by `open`, with its diagnostics.
    let ws = args.common.open(true)?;
    if ws.validation.is_none() {
        return Err(Error::Usage("no desired-state file".to_string()));
    }
    let model = ws.model();
    let mut out = String::new();
    if args.plan {
        let planned = ops::plan(
            &model,
            &*ws.store,
            &*ws.cloud,
            true,
            &plan::Options::default(),
        )?;
        if args.format == GraphFormat::Mermaid {
            print(&render::mermaid::steps(&planned.plan))?;
            return Ok(0);
        }
        out.push_str("digraph plan {\n  rankdir = LR;\n  node [shape = box];\n");
        for step in &planned.plan.steps {
            let _ = writeln!(
                out,
                "  {} [label = {}];",
                step.index,
                dot_id(&format!("{}. {}", step.index, step.describe()))
            );
        }
        for step in &planned.plan.steps {
            for dep in &step.depends_on {
                let _ = writeln!(
                    out,
                    "  {} -> {} [label = {}];",
                    dep.step,
                    step.index,
                    dot_id(&dep.words(step, &planned.plan.steps))
                );
            }
        }
    } else if args.format == GraphFormat::Mermaid {
        print(&render::mermaid::network(&crate::resource::desired(&model)))?;
        return Ok(0);
    } else {
        out.push_str("digraph resources {\n  rankdir = LR;\n  node [shape = box];\n");
        let desired = crate::resource::desired(&model);
        for address in desired.keys() {
            let _ = writeln!(out, "  {};", dot_id(&address.to_string()));
        }
        for (address, attributes) in &desired {
            let from = dot_id(&address.to_string());
            let mut edge = |kind: Kind, name: &str, label: &str| {
                let _ = writeln!(
                    out,
                    "  {from} -> {} [label = {}];",
                    dot_id(&Address::new(kind, name).to_string()),
                    dot_id(label)
                );
            };
            match attributes {
                Attributes::Subnet(s) => edge(Kind::Vpc, &s.vpc, "in"),
                Attributes::NetworkInterface(n) => {
                    edge(Kind::Subnet, &n.subnet, "in");
                    for g in &n.security_groups {
                        edge(Kind::SecurityGroup, g, "uses");
                    }
                    if let Some(i) = &n.attach_to {
                        edge(Kind::Instance, i, "attached to");
                    }
                }
                Attributes::Instance(i) => {
                    edge(Kind::NetworkInterface, &i.primary_interface, "primary")
                }
                Attributes::PublicIp(p) => {
                    if let Some(n) = &p.network_interface {
                        edge(Kind::NetworkInterface, n, "associated with");
                    }
                }
                _ => {}
            }
        }
    }
    out.push_str("}\n");
    print(&out)?;
    Ok(0)
}

/// The application credential `sim serve` accepts: the one in the environment, or, when
/// neither of its two variables is set, one made at random for this run (`true`). Half
/// of one is refused; a credential given is never shown.
fn serve_credential() -> Result<((String, String), bool), Error> {
    use crate::cloud::kakaocloud::{ID_VAR, SECRET_VAR};
    let var = |name: &str| match std::env::var_os(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => value
            .into_string()
            .map(Some)
            .map_err(|_| Error::Usage(format!("{name} is not valid UTF-8"))),
    };
    match (var(ID_VAR)?, var(SECRET_VAR)?) {
        (Some(id), Some(secret)) => Ok(((id, secret), false)),
        (None, None) => {
            let id = format!("nicplan-sim-{}", uuid::Uuid::new_v4().simple());
            let secret = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            Ok(((id, secret), true))
        }
        (set, _) => {
            let (given, missing) = if set.is_some() {
                (ID_VAR, SECRET_VAR)
            } else {
                (SECRET_VAR, ID_VAR)
            };
            Err(Error::Usage(format!(
                "{given} is set but {missing} is not: sim serve takes both, or neither (then it makes a credential for the run and prints it)"
            )))
        }
    }
}

/// The simulator of the file's settings, opened for an operator control (not through
/// the trait: these are controls of the simulation, not platform calls).
fn open_sim(file: &super::workspace::FileArg) -> Result<crate::cloud::sim::Sim, Error> {
    let path = sim_path(file)?;
    crate::cloud::sim::Sim::open(&path, true).map_err(sim_error)
}

fn sim_error(e: crate::cloud::CloudError) -> Error {
    Error::Cloud {
        backend: "sim",
        message: e.to_string(),
    }
}

/// The simulator file named by the file's settings, or the default.
fn sim_path(file: &super::workspace::FileArg) -> Result<String, Error> {
    let validation = file.validate_optional(None)?;
    let settings = validation
        .as_ref()
        .and_then(|v| v.model.as_ref())
        .map(|m| m.settings.clone())
        .unwrap_or_default();
    Ok(settings
        .sim_path
        .unwrap_or_else(|| super::workspace::DEFAULT_SIM.to_string()))
}

pub fn exec_sim(command: SimCommand) -> Result<u8, Error> {
    match command {
        SimCommand::Serve {
            file,
            listen,
            latency_ms,
            fail_every,
            throttle_every,
            fail_rate,
            throttle_rate,
            drop_rate,
            seed,
        } => {
            let (credential, made) = serve_credential()?;
            let mut options =
                crate::cloud::serve::ServeOptions::new(credential.0.clone(), credential.1.clone());
            options.latency = std::time::Duration::from_millis(latency_ms);
            options.fail_every = fail_every;
            options.throttle_every = throttle_every;
            options.fail_rate = fail_rate;
            options.throttle_rate = throttle_rate;
            options.drop_rate = drop_rate;
            options.seed = seed;
            options.log = true;
            options.check().map_err(Error::Usage)?;
            let path = sim_path(&file)?;
            let sim = crate::cloud::sim::Sim::open(&path, false).map_err(|e| Error::Cloud {
                backend: "sim",
                message: e.to_string(),
            })?;
            let server =
                crate::cloud::serve::Server::start(sim, &listen, options).map_err(|e| {
                    Error::Cloud {
                        backend: "sim",
                        message: e.to_string(),
                    }
                })?;
            print(&format!(
                "nicplan sim serve: {} (simulator {path}); KAKAOCLOUD_ENDPOINT={}\n",
                server.url(),
                server.url()
            ))?;
            if made {
                use crate::cloud::kakaocloud::{ENDPOINT_VAR, ID_VAR, SECRET_VAR};
                let told = format!(
                    "nicplan sim serve: no application credential was given; this one, made for this run, is accepted. To use it with --backend kakaocloud:\nexport {ID_VAR}={} {SECRET_VAR}={} {ENDPOINT_VAR}={}\n",
                    credential.0,
                    credential.1,
                    server.url()
                );
                // A closed standard error loses the hint, not the server.
                let _ = std::io::Write::write_all(&mut std::io::stderr(), told.as_bytes());
            }
            server.wait();
            Ok(0)
        }
        SimCommand::CreateVpc { file, name, cidr } => {
            let sim = open_sim(&file)?;
            let id = sim.operator_create_vpc(&name, cidr).map_err(sim_error)?;
            print(&format!(
                "Created VPC {id} ({name}, {cidr}) outside any state.\n"
            ))?;
            Ok(0)
        }
        SimCommand::CreateSubnet {
            file,
            name,
            vpc,
            cidr,
            zone,
        } => {
            let sim = open_sim(&file)?;
            let id = sim
                .operator_create_subnet(&name, &vpc, cidr, &zone)
                .map_err(sim_error)?;
            print(&format!(
                "Created subnet {id} ({name}, {cidr}, {zone}) outside any state.\n"
            ))?;
            Ok(0)
        }
        SimCommand::CreateSecurityGroup { file, name } => {
            let sim = open_sim(&file)?;
            let id = sim
                .operator_create_security_group(&name)
                .map_err(sim_error)?;
            print(&format!(
                "Created security group {id} ({name}) outside any state.\n"
            ))?;
            Ok(0)
        }
        SimCommand::CreateNic {
            file,
            name,
            subnet,
            ip,
            security_groups,
            attach,
        } => {
            let sim = open_sim(&file)?;
            let id = sim
                .operator_create_nic(&name, &subnet, ip, &security_groups, attach.as_deref())
                .map_err(sim_error)?;
            let nic = crate::cloud::Cloud::nic(&sim, &id).map_err(sim_error)?;
            let on = attach
                .map(|i| format!(", attached to {i}"))
                .unwrap_or_default();
            print(&format!(
                "Created network interface {id} ({name}, {}{on}) outside any state.\n",
                nic.private_ip
            ))?;
            Ok(0)
        }
        SimCommand::CreateInstance {
            file,
            name,
            instance_type,
            subnet,
            ip,
            security_groups,
        } => {
            let sim = open_sim(&file)?;
            let id = sim
                .operator_create_instance(&name, &instance_type, &subnet, ip, &security_groups)
                .map_err(sim_error)?;
            let instance = crate::cloud::Cloud::instance(&sim, &id).map_err(sim_error)?;
            print(&format!(
                "Created instance {id} ({name}, {instance_type}, primary interface {}) outside any state.\n",
                instance.primary_nic_id
            ))?;
            Ok(0)
        }
        SimCommand::CreatePublicIp { file, nic } => {
            let sim = open_sim(&file)?;
            let id = sim
                .operator_create_public_ip(nic.as_deref())
                .map_err(sim_error)?;
            let public = crate::cloud::Cloud::public_ip(&sim, &id).map_err(sim_error)?;
            let on = nic
                .map(|n| format!(", associated with {n}"))
                .unwrap_or_default();
            print(&format!(
                "Created public IP {id} ({}{on}) outside any state.\n",
                public.address
            ))?;
            Ok(0)
        }
        SimCommand::Settings {
            file,
            keep_primary_nic,
            quota_vpcs,
            quota_subnets,
            quota_instances,
        } => {
            let sim = open_sim(&file)?;
            let mut settings = sim.settings().map_err(sim_error)?;
            let changed = keep_primary_nic.is_some()
                || quota_vpcs.is_some()
                || quota_subnets.is_some()
                || quota_instances.is_some();
            if let Some(keep) = keep_primary_nic {
                settings.keep_primary_nic = keep;
            }
            if let Some(n) = quota_vpcs {
                settings.quotas.vpcs = n;
            }
            if let Some(n) = quota_subnets {
                settings.quotas.subnets = n;
            }
            if let Some(n) = quota_instances {
                settings.quotas.instances = n;
            }
            if changed {
                sim.set_settings(settings).map_err(sim_error)?;
            }
            print(&format!(
                "keep_primary_nic = {}\nquota_vpcs = {}\nquota_subnets = {}\nquota_instances = {}\n",
                settings.keep_primary_nic,
                settings.quotas.vpcs,
                settings.quotas.subnets,
                settings.quotas.instances
            ))?;
            Ok(0)
        }
        SimCommand::SetInstanceStatus { file, name, status } => {
            let path = sim_path(&file)?;
            // Open the simulator itself, not through the trait: this is an operator
            // control of the simulation, not a platform call.
            let sim = crate::cloud::sim::Sim::open(&path, true).map_err(|e| Error::Cloud {
                backend: "sim",
                message: e.to_string(),
            })?;
            sim.set_instance_status(&name, status)
                .map_err(|e| Error::Cloud {
                    backend: "sim",
                    message: e.to_string(),
                })?;
            print(&format!("Instance {name} is now {}.\n", status.as_str()))?;
            Ok(0)
        }
    }
}
