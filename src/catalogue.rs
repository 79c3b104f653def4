//! The instance catalogue: every FAMILY.SIZE of KakaoCloud's NIC limit table, with the
//! number of network interfaces (primary included) an instance of that type may hold.
//!
//! The table is data compiled into the binary, transcribed from the platform's page on
//! network interfaces; `data/nic-limits.tsv` is the same table in its original form and a
//! test checks the two entry by entry.

use serde::Serialize;

/// The platform's grouping of instance families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// General purpose (`m2a`, `m3az`, `t1i`).
    General,
    /// Memory optimized (`r2a`).
    MemoryOptimized,
    /// Compute optimized (`c2a`).
    ComputeOptimized,
    /// Accelerated computing (`gn1i`, `gf1i`, `p1i`, `p2i`, `p2a`).
    AcceleratedComputing,
    /// Video transcoding (`vt1a`).
    VideoTranscoding,
}

impl Group {
    /// The group's short name, as the limit table spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::General => "general",
            Group::MemoryOptimized => "memory",
            Group::ComputeOptimized => "compute",
            Group::AcceleratedComputing => "accelerated",
            Group::VideoTranscoding => "video",
        }
    }
}

/// The platform's kind of flavor, `instance_type` in its flavor list: only a `vm` is
/// ever resized; a type change to or from another kind means a new instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlavorKind {
    /// A virtual machine.
    Vm,
    /// A bare-metal server.
    Bm,
    /// A machine with accelerators (GPUs, transcoding cards).
    Gpu,
}

impl FlavorKind {
    /// The platform's word: `vm`, `bm` or `gpu`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlavorKind::Vm => "vm",
            FlavorKind::Bm => "bm",
            FlavorKind::Gpu => "gpu",
        }
    }

    /// The kind in words, for messages.
    pub fn words(self) -> &'static str {
        match self {
            FlavorKind::Vm => "a virtual machine",
            FlavorKind::Bm => "bare metal",
            FlavorKind::Gpu => "an accelerated (GPU) flavor",
        }
    }
}

/// One row of the limit table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct InstanceType {
    /// The family, such as `m2a`.
    pub family: &'static str,
    /// The size within the family, such as `xlarge` or `baremetal`.
    pub size: &'static str,
    /// The platform's group of the family.
    pub group: Group,
    /// Network interfaces an instance of this type may hold, primary included.
    pub max_network_interfaces: u32,
}

impl InstanceType {
    /// The `FAMILY.SIZE` name used in desired-state files.
    pub fn name(&self) -> String {
        format!("{}.{}", self.family, self.size)
    }

    /// Bare-metal servers need no security group and may bond their interfaces.
    pub fn is_bare_metal(&self) -> bool {
        self.size == "baremetal"
    }

    /// The platform's kind of this flavor. The limit table does not carry it: bare-metal
    /// sizes are `bm`; the accelerated-computing and video-transcoding families carry
    /// accelerator cards and are taken as `gpu` (the provider resizes only `vm`, so
    /// erring this way replaces instead of attempting a resize the platform refuses);
    /// everything else is `vm`.
    pub fn kind(&self) -> FlavorKind {
        if self.is_bare_metal() {
            FlavorKind::Bm
        } else if matches!(
            self.group,
            Group::AcceleratedComputing | Group::VideoTranscoding
        ) {
            FlavorKind::Gpu
        } else {
            FlavorKind::Vm
        }
    }
}

/// Every instance type, in the order of the platform's table.
pub const CATALOGUE: &[InstanceType] = &[
    InstanceType {
        family: "m2a",
        size: "large",
        group: Group::General,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "m2a",
        size: "xlarge",
        group: Group::General,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "m2a",
        size: "2xlarge",
        group: Group::General,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "m2a",
        size: "4xlarge",
        group: Group::General,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "m2a",
        size: "8xlarge",
        group: Group::General,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "m2a",
        size: "12xlarge",
        group: Group::General,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "m2a",
        size: "16xlarge",
        group: Group::General,
        max_network_interfaces: 15,
    },
    InstanceType {
        family: "m2a",
        size: "24xlarge",
        group: Group::General,
        max_network_interfaces: 15,
    },
    InstanceType {
        family: "m3az",
        size: "large",
        group: Group::General,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "m3az",
        size: "xlarge",
        group: Group::General,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "m3az",
        size: "2xlarge",
        group: Group::General,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "m3az",
        size: "4xlarge",
        group: Group::General,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "m3az",
        size: "6xlarge",
        group: Group::General,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "m3az",
        size: "8xlarge",
        group: Group::General,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "t1i",
        size: "nano",
        group: Group::General,
        max_network_interfaces: 2,
    },
    InstanceType {
        family: "t1i",
        size: "micro",
        group: Group::General,
        max_network_interfaces: 2,
    },
    InstanceType {
        family: "t1i",
        size: "small",
        group: Group::General,
        max_network_interfaces: 2,
    },
    InstanceType {
        family: "t1i",
        size: "medium",
        group: Group::General,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "t1i",
        size: "large",
        group: Group::General,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "t1i",
        size: "xlarge",
        group: Group::General,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "t1i",
        size: "2xlarge",
        group: Group::General,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "r2a",
        size: "large",
        group: Group::MemoryOptimized,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "r2a",
        size: "xlarge",
        group: Group::MemoryOptimized,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "r2a",
        size: "2xlarge",
        group: Group::MemoryOptimized,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "r2a",
        size: "4xlarge",
        group: Group::MemoryOptimized,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "r2a",
        size: "8xlarge",
        group: Group::MemoryOptimized,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "r2a",
        size: "12xlarge",
        group: Group::MemoryOptimized,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "r2a",
        size: "16xlarge",
        group: Group::MemoryOptimized,
        max_network_interfaces: 15,
    },
    InstanceType {
        family: "r2a",
        size: "24xlarge",
        group: Group::MemoryOptimized,
        max_network_interfaces: 15,
    },
    InstanceType {
        family: "r2a",
        size: "baremetal",
        group: Group::MemoryOptimized,
        max_network_interfaces: 2,
    },
    InstanceType {
        family: "c2a",
        size: "large",
        group: Group::ComputeOptimized,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "c2a",
        size: "xlarge",
        group: Group::ComputeOptimized,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "c2a",
        size: "2xlarge",
        group: Group::ComputeOptimized,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "c2a",
        size: "4xlarge",
        group: Group::ComputeOptimized,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "c2a",
        size: "8xlarge",
        group: Group::ComputeOptimized,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "c2a",
        size: "12xlarge",
        group: Group::ComputeOptimized,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "c2a",
        size: "16xlarge",
        group: Group::ComputeOptimized,
        max_network_interfaces: 15,
    },
    InstanceType {
        family: "c2a",
        size: "24xlarge",
        group: Group::ComputeOptimized,
        max_network_interfaces: 15,
    },
    InstanceType {
        family: "gn1i",
        size: "xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "gn1i",
        size: "2xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "gn1i",
        size: "4xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 3,
    },
    InstanceType {
        family: "gn1i",
        size: "8xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "gn1i",
        size: "12xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "gn1i",
        size: "16xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "gf1i",
        size: "6xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "gf1i",
        size: "12xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "gf1i",
        size: "24xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 15,
    },
    InstanceType {
        family: "p1i",
        size: "baremetal",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 2,
    },
    InstanceType {
        family: "p2i",
        size: "6xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 4,
    },
    InstanceType {
        family: "p2i",
        size: "12xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "p2i",
        size: "24xlarge",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 15,
    },
    InstanceType {
        family: "p2a",
        size: "baremetal",
        group: Group::AcceleratedComputing,
        max_network_interfaces: 2,
    },
    InstanceType {
        family: "vt1a",
        size: "4xlarge",
        group: Group::VideoTranscoding,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "vt1a",
        size: "8xlarge",
        group: Group::VideoTranscoding,
        max_network_interfaces: 8,
    },
    InstanceType {
        family: "vt1a",
        size: "32xlarge",
        group: Group::VideoTranscoding,
        max_network_interfaces: 15,
    },
];

/// Looks up a `FAMILY.SIZE` name.
pub fn lookup(name: &str) -> Option<&'static InstanceType> {
    let (family, size) = name.split_once('.')?;
    CATALOGUE
        .iter()
        .find(|t| t.family == family && t.size == size)
}

/// The sizes a family offers, in table order; empty when the family is unknown.
pub fn sizes_of(family: &str) -> Vec<&'static InstanceType> {
    CATALOGUE.iter().filter(|t| t.family == family).collect()
}

/// Every family, in table order, without repetition.
pub fn families() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for t in CATALOGUE {
        if !out.contains(&t.family) {
            out.push(t.family);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_types_and_rejects_others() {
        assert_eq!(
            lookup("m2a.xlarge").map(|t| t.max_network_interfaces),
            Some(4)
        );
        assert!(lookup("r2a.baremetal").is_some_and(InstanceType::is_bare_metal));
        assert!(lookup("m2a.huge").is_none());
        assert!(lookup("m2a").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn flavor_kinds_follow_the_families() {
        let kind = |n: &str| lookup(n).map(InstanceType::kind);
        assert_eq!(kind("m2a.xlarge"), Some(FlavorKind::Vm));
        assert_eq!(kind("t1i.nano"), Some(FlavorKind::Vm));
        assert_eq!(kind("r2a.baremetal"), Some(FlavorKind::Bm));
        assert_eq!(kind("p2a.baremetal"), Some(FlavorKind::Bm));
        assert_eq!(kind("gn1i.xlarge"), Some(FlavorKind::Gpu));
        assert_eq!(kind("vt1a.4xlarge"), Some(FlavorKind::Gpu));
    }

    #[test]
    fn sizes_are_listed_per_family() {
        let sizes: Vec<_> = sizes_of("t1i").iter().map(|t| t.size).collect();
        assert_eq!(
            sizes,
            [
                "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"
            ]
        );
        assert_eq!(families().len(), 11);
    }
}
