//! Resource kinds and addresses: `subnet.private[1]`, `ecs_service.hello`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

macro_rules! kinds {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// Every kind of resource a stack can expand into.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind { $($variant),+ }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];

            /// The name used in addresses and in the state file.
            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => $name),+ }
            }
        }

        impl FromStr for Kind {
            type Err = AddressError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Kind::$variant),)+
                    _ => Err(AddressError(format!("unknown resource kind `{s}`"))),
                }
            }
        }
    };
}

kinds! {
    Vpc => "vpc",
    InternetGateway => "internet_gateway",
    Subnet => "subnet",
    RouteTable => "route_table",
    Eip => "eip",
    NatGateway => "nat_gateway",
    HostedZone => "hosted_zone",
    DnsRecord => "dns_record",
    SecurityGroup => "security_group",
    IamRole => "iam_role",
    IamInstanceProfile => "iam_instance_profile",
    EcsCluster => "ecs_cluster",
    LaunchTemplate => "launch_template",
    AutoscalingGroup => "autoscaling_group",
    ScalingPolicy => "scaling_policy",
    Lb => "lb",
    LbTargetGroup => "lb_target_group",
    LbListener => "lb_listener",
    LbListenerRule => "lb_listener_rule",
    LogGroup => "log_group",
    TaskDefinition => "task_definition",
    EcsService => "ecs_service",
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address: {0}")]
pub struct AddressError(pub String);

/// A stable name for one resource: kind, name and an optional index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    pub name: String,
    pub index: Option<usize>,
}

impl Address {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
            index: None,
        }
    }

    pub fn indexed(kind: Kind, name: impl Into<String>, index: usize) -> Self {
        Address {
            kind,
            name: name.into(),
            index: Some(index),
        }
    }

    /// A reference to one attribute of this resource.
    pub fn attr(&self, attr: &str) -> crate::Value {
        crate::Value::Ref(crate::Ref {
            address: self.clone(),
            attr: attr.to_string(),
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            AddressError(format!(
                "`{s}` is not of the form kind.name or kind.name[index]"
            ))
        };
        let (kind, rest) = s.split_once('.').ok_or_else(bad)?;
        let kind: Kind = kind.parse()?;
        let (name, index) = match rest.strip_suffix(']') {
            Some(head) => {
                let (name, idx) = head.split_once('[').ok_or_else(bad)?;
                (name, Some(idx.parse::<usize>().map_err(|_| bad())?))
            }
            None => (rest, None),
        };
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if name.is_empty() || !name.chars().all(valid) {
            return Err(bad());
        }
        Ok(Address {
            kind,
            name: name.to_string(),
            index,
        })
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for s in [
            "vpc.main",
            "subnet.private[1]",
            "ecs_service.hello-world",
            "iam_role.task_execution",
        ] {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn bad_addresses_are_refused() {
        for s in [
            "",
            "vpc",
            "nope.main",
            "subnet.private[x]",
            "subnet.[1]",
            "vpc.ma in",
        ] {
            assert!(s.parse::<Address>().is_err(), "{s} parsed");
        }
    }

    #[test]
    fn every_kind_parses_from_its_name() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), *k);
        }
    }
}
