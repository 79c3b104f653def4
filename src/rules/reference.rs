//! `nicplan::reference`: every name a resource refers to is declared, and when it is not,
//! the closest declared names are suggested.

use indexmap::IndexMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::ident::Ident;
use crate::model::Model;
use crate::source::At;
use crate::suggest;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let vpcs = Known::new(&model.vpcs);
    let subnets = Known::new(&model.subnets);
    let groups = Known::new(&model.security_groups);
    let instances = Known::new(&model.instances);
    let nics = Known::new(&model.network_interfaces);
    for subnet in model.subnets.values() {
        resolve(
            out,
            &vpcs,
            &subnet.vpc,
            "VPC",
            "vpcs",
            &subnet.name.value,
            "subnet",
        );
    }
    for instance in model.instances.values() {
        resolve(
            out,
            &nics,
            &instance.primary_interface,
            "network interface",
            "network_interfaces",
            &instance.name.value,
            "instance",
        );
    }
    for nic in model.network_interfaces.values() {
        let owner = &nic.name.value;
        resolve(
            out,
            &subnets,
            &nic.subnet,
            "subnet",
            "subnets",
            owner,
            "network interface",
        );
        for group in &nic.security_groups {
            resolve(
                out,
                &groups,
                group,
                "security group",
                "security_groups",
                owner,
                "network interface",
            );
        }
        if let Some(instance) = &nic.attach_to {
            resolve(
                out,
                &instances,
                instance,
                "instance",
                "instances",
                owner,
                "network interface",
            );
        }
    }
    for public_ip in model.public_ips.values() {
        if let Some(nic) = &public_ip.network_interface {
            resolve(
                out,
                &nics,
                nic,
                "network interface",
                "network_interfaces",
                &public_ip.name.value,
                "public IP",
            );
        }
    }
}

/// The declared names of one kind, and the names to suggest from.
struct Known<'a, T> {
    declared: &'a IndexMap<Ident, T>,
    names: suggest::Names<'a>,
}

impl<'a, T> Known<'a, T> {
    fn new(declared: &'a IndexMap<Ident, T>) -> Known<'a, T> {
        Known {
            declared,
            names: suggest::Names::new(declared.keys().map(|k| &**k)),
        }
    }
}

fn resolve<T>(
    out: &mut Vec<Diagnostic>,
    known: &Known<'_, T>,
    reference: &At<Ident>,
    kind: &str,
    section: &str,
    owner: &str,
    owner_kind: &str,
) {
    let declared = known.declared;
    if declared.contains_key(&reference.value) {
        return;
    }
    let close = known.names.closest(&reference.value);
    let help = if !close.is_empty() {
        format!("did you mean {}?", suggest::one_of(&close))
    } else if declared.is_empty() {
        format!("declare it under `{section}:`")
    } else {
        let names: Vec<&str> = declared.keys().map(Ident::as_str).take(8).collect();
        let more = if declared.len() > names.len() {
            ", ..."
        } else {
            ""
        };
        format!(
            "declare it under `{section}:`; declared: {}{more}",
            names.join(", ")
        )
    };
    out.push(
        Diagnostic::new(
            Code::Reference,
            format!(
                "{owner_kind} {owner} refers to {kind} `{}`, which is not declared",
                reference.value
            ),
        )
        .label(reference.span, format!("no {kind} of this name"))
        .help(help),
    );
}
