//! `nicplan::reference`: every name a resource refers to is declared, and when it is not,
//! the closest declared names are suggested.

use indexmap::IndexMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;
use crate::source::At;
use crate::suggest;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for subnet in model.subnets.values() {
        resolve(
            out,
            &model.vpcs,
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
            &model.network_interfaces,
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
            &model.subnets,
            &nic.subnet,
            "subnet",
            "subnets",
            owner,
            "network interface",
        );
        for group in &nic.security_groups {
            resolve(
                out,
                &model.security_groups,
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
                &model.instances,
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
                &model.network_interfaces,
                nic,
                "network interface",
                "network_interfaces",
                &public_ip.name.value,
                "public IP",
            );
        }
    }
}

fn resolve<T>(
    out: &mut Vec<Diagnostic>,
    declared: &IndexMap<String, T>,
    reference: &At<String>,
    kind: &str,
    section: &str,
    owner: &str,
    owner_kind: &str,
) {
    if declared.contains_key(&reference.value) {
        return;
    }
    let close = suggest::closest(&reference.value, declared.keys().map(String::as_str));
    let help = if !close.is_empty() {
        format!("did you mean {}?", suggest::one_of(&close))
    } else if declared.is_empty() {
        format!("declare it under `{section}:`")
    } else {
        let names: Vec<&str> = declared.keys().map(String::as_str).take(8).collect();
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
