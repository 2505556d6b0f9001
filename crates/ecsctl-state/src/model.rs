//! What the state file holds.

use ecsctl_graph::{Address, Ref};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// The newest state format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

pub type Attrs = Map<String, Json>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub format_version: u32,
    /// Bumped on every write.
    pub serial: u64,
    /// Random at creation; a saved plan is only valid for the lineage it was made from.
    pub lineage: String,
    /// The stack name this state belongs to.
    pub stack: String,
    /// Every resource that exists, by address.
    #[serde(default)]
    pub resources: BTreeMap<Address, ResourceState>,
    /// Creates that were started but not confirmed (intent records). The next run resolves
    /// each by looking the resource up by its token or `ecsctl:address` tag.
    #[serde(default)]
    pub pending: BTreeMap<Address, Pending>,
    /// Results of data lookups (`azs`, `ami_id`, `account_id`, `region`), reused when the
    /// provider is not consulted.
    #[serde(default)]
    pub data: BTreeMap<String, Json>,
    /// Old objects of create-before-destroy replacements whose new object exists but whose
    /// delete has not completed yet. The next apply deletes them first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<Deposed>,
    /// Updates sent to AWS that did not complete (the call, or the wait after it, failed):
    /// the arguments they asked for, by address. A refresh that finds these values live
    /// knows ecsctl made the change, and does not report it as changed outside ecsctl.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unconfirmed: BTreeMap<Address, Attrs>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceState {
    /// The AWS id (VPC id, ARN, name: whatever the kind's API addresses it by).
    pub id: String,
    /// The arguments as last applied (or refreshed), fully resolved.
    pub args: Attrs,
    /// Attributes known only after create (`arn`, `dns_name`, …).
    #[serde(default)]
    pub outputs: Attrs,
    /// Addresses this resource depended on when it was applied; destroy order uses them
    /// when the stack file no longer describes the resource.
    #[serde(default)]
    pub deps: Vec<Address>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// The idempotency token the create used.
    pub token: String,
    /// RFC 3339 UTC time the intent was recorded.
    pub since: String,
    /// The resolved arguments the create was sent with.
    pub args: Attrs,
    #[serde(default)]
    pub deps: Vec<Address>,
}

/// The old object of a create-before-destroy replacement, kept until it is deleted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deposed {
    pub address: Address,
    pub resource: ResourceState,
}

impl State {
    /// A new, empty state for `stack` with a fresh random lineage.
    pub fn new(stack: &str) -> State {
        use rand::Rng;
        let bytes: [u8; 16] = rand::thread_rng().gen();
        let lineage = bytes.iter().map(|b| format!("{b:02x}")).collect();
        State {
            format_version: FORMAT_VERSION,
            serial: 0,
            lineage,
            stack: stack.to_string(),
            resources: BTreeMap::new(),
            pending: BTreeMap::new(),
            data: BTreeMap::new(),
            deposed: Vec::new(),
            unconfirmed: BTreeMap::new(),
        }
    }

    /// The value of `r` if the resource exists: `id`, then outputs, then arguments.
    pub fn lookup(&self, r: &Ref) -> Option<Json> {
        let res = self.resources.get(&r.address)?;
        if r.attr == "id" {
            return Some(Json::String(res.id.clone()));
        }
        res.outputs
            .get(&r.attr)
            .or_else(|| res.args.get(&r.attr))
            .cloned()
    }
}
