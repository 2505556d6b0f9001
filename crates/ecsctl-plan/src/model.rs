//! What a plan holds: one [`Change`] per resource that changes, in the order they can be
//! made, bound to the state (lineage, serial) and the stack file (hash) it was made from.

use ecsctl_graph::{Address, Data, Value};
use ecsctl_state::{ResourceState, State};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The newest plan file format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// What a plan does to one resource. Resources that stay as they are get no change at all.
///
/// | action  | `before`                                  | `after`                                   |
/// |---------|-------------------------------------------|-------------------------------------------|
/// | Create  | `None`: nothing exists yet                | the desired arguments                     |
/// | Update  | the resource as the state records it      | the desired arguments; same AWS id        |
/// | Replace | the resource that will be deleted         | the arguments of its successor (new id)   |
/// | Delete  | the resource that will be deleted         | `None`                                    |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Make a resource the state does not have. `before` is `None`, `after` the desired
    /// arguments. A create whose intent is pending in the state resumes it (the engine
    /// first looks for what the interrupted create made).
    Create,
    /// Change a resource in place: `before` is its state, `after` its desired arguments,
    /// and it keeps its AWS id.
    Update,
    /// Delete and create again because an argument that cannot change in place changed
    /// (`replace_reasons`): `before` is the state of the old resource, `after` the desired
    /// arguments of the new one. Destroy first unless `create_before_destroy`.
    Replace,
    /// Delete a resource the stack no longer describes: `before` is its state, `after` is
    /// `None`, and its dependencies are those the state recorded.
    Delete,
}

impl Action {
    /// `+`, `~`, `-/+` (delete then create) or `-`. A create-before-destroy replace is
    /// `+/-`: see [`Change::symbol`].
    pub fn symbol(&self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// One changed argument of an update or replace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttrDiff {
    pub name: String,
    /// The value the state records; `None` when absent or null.
    pub before: Option<Json>,
    /// The desired value (a `Ref` or `Unknown` when known only after apply); `None` when
    /// absent or null.
    pub after: Option<Value>,
    /// Whether this difference alone forces a replacement.
    pub forces_replace: bool,
}

/// What happens to one resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// For a replace: create the successor before deleting the old resource.
    #[serde(default)]
    pub create_before_destroy: bool,
    /// For a create: the state holds a pending intent for this address (an interrupted
    /// create), which the engine resolves before creating anything.
    #[serde(default)]
    pub resume: bool,
    /// The resource as the state records it (see the table on [`Action`]).
    pub before: Option<ResourceState>,
    /// The desired arguments. References to resources that do not change are replaced by
    /// their recorded values; references to resources that change stay `Value::Ref` and
    /// are resolved by the engine once those are made.
    pub after: Option<BTreeMap<String, Value>>,
    /// For updates and replaces: the arguments that differ, by name.
    #[serde(default)]
    pub diffs: Vec<AttrDiff>,
    /// For a replace: the arguments whose change forces it, by name.
    #[serde(default)]
    pub replace_reasons: Vec<String>,
    /// What must happen first: for creates, updates and replaces the desired dependencies;
    /// for deletes the dependencies the state recorded (which are deleted after it).
    #[serde(default)]
    pub deps: Vec<Address>,
}

impl Change {
    /// The symbol shown before the address: [`Action::symbol`], except `+/-` for a
    /// create-before-destroy replace.
    pub fn symbol(&self) -> &'static str {
        if self.action == Action::Replace && self.create_before_destroy {
            "+/-"
        } else {
            self.action.symbol()
        }
    }
}

/// A plan: every change that makes the state match the stack, in an order where creates,
/// updates and replaces come after their dependencies and deletes before the resources they
/// depend on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format_version: u32,
    /// The stack name.
    pub stack: String,
    /// SHA-256 of the stack file the plan was made from (empty for a destroy plan made
    /// without one).
    pub stack_hash: String,
    /// Lineage and serial of the state the plan was made against.
    pub lineage: String,
    pub serial: u64,
    /// Whether this plan destroys the whole stack.
    #[serde(default)]
    pub destroy: bool,
    /// The data lookups the desired resources were expanded with (`azs`, `ami_id`,
    /// `region`, `account_id`).
    #[serde(default)]
    pub data: BTreeMap<String, Json>,
    pub changes: Vec<Change>,
}

impl Plan {
    /// `(add, change, destroy)`: a replace counts one add and one destroy.
    pub fn counts(&self) -> (usize, usize, usize) {
        let (mut add, mut change, mut destroy) = (0, 0, 0);
        for c in &self.changes {
            match c.action {
                Action::Create => add += 1,
                Action::Update => change += 1,
                Action::Replace => {
                    add += 1;
                    destroy += 1;
                }
                Action::Delete => destroy += 1,
            }
        }
        (add, change, destroy)
    }

    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The change for `address`, if it changes.
    pub fn change(&self, address: &Address) -> Option<&Change> {
        self.changes.iter().find(|c| &c.address == address)
    }

    /// Record the data lookups the desired graph was expanded with (by default a plan
    /// records the state's `data`).
    pub fn with_data(mut self, data: &Data) -> Plan {
        self.data = data_map(data);
        self
    }

    /// Refuse to apply this plan to a state or stack file other than the ones it was made
    /// from.
    pub fn check_current(&self, state: &State, stack_hash: &str) -> Result<(), StalePlan> {
        if self.lineage != state.lineage {
            return Err(StalePlan::Lineage {
                plan: self.lineage.clone(),
                state: state.lineage.clone(),
            });
        }
        if self.serial != state.serial {
            return Err(StalePlan::Serial {
                plan: self.serial,
                state: state.serial,
            });
        }
        if self.stack_hash != stack_hash {
            return Err(StalePlan::StackFile);
        }
        Ok(())
    }
}

/// The data lookups in the form the state and the plan record them.
pub fn data_map(data: &Data) -> BTreeMap<String, Json> {
    let mut out = BTreeMap::new();
    if let Some(azs) = &data.azs {
        out.insert("azs".to_string(), Json::from(azs.clone()));
    }
    if let Some(ami) = &data.ami_id {
        out.insert("ami_id".to_string(), Json::from(ami.clone()));
    }
    if let Some(region) = &data.region {
        out.insert("region".to_string(), Json::from(region.clone()));
    }
    if let Some(account) = &data.account_id {
        out.insert("account_id".to_string(), Json::from(account.clone()));
    }
    out
}

/// Why a saved plan may not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StalePlan {
    #[error(
        "this plan was made against another state (lineage {plan}, this state's is {state}); \
         run plan again with this state"
    )]
    Lineage { plan: String, state: String },
    #[error(
        "the state changed since this plan was made (serial {plan}, now {state}); run plan again"
    )]
    Serial { plan: u64, state: u64 },
    #[error("the stack file changed since this plan was made; run plan again")]
    StackFile,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(addr: &str, action: Action) -> Change {
        Change {
            address: addr.parse().unwrap(),
            action,
            create_before_destroy: false,
            resume: false,
            before: None,
            after: None,
            diffs: vec![],
            replace_reasons: vec![],
            deps: vec![],
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            stack: "hello".into(),
            stack_hash: "abc".into(),
            lineage: "l1".into(),
            serial: 7,
            destroy: false,
            data: BTreeMap::new(),
            changes,
        }
    }

    #[test]
    fn symbols() {
        assert_eq!(Action::Create.symbol(), "+");
        assert_eq!(Action::Update.symbol(), "~");
        assert_eq!(Action::Replace.symbol(), "-/+");
        assert_eq!(Action::Delete.symbol(), "-");
        let mut c = change("task_definition.hello", Action::Replace);
        assert_eq!(c.symbol(), "-/+");
        c.create_before_destroy = true;
        assert_eq!(c.symbol(), "+/-");
    }

    #[test]
    fn a_replace_counts_as_one_add_and_one_destroy() {
        let p = plan(vec![
            change("vpc.main", Action::Create),
            change("ecs_service.hello", Action::Update),
            change("subnet.private[0]", Action::Replace),
            change("nat_gateway.main[1]", Action::Delete),
        ]);
        assert_eq!(p.counts(), (2, 1, 2));
        assert!(!p.is_empty());
        assert!(plan(vec![]).is_empty());
    }

    #[test]
    fn stale_plans_are_refused() {
        let p = plan(vec![]);
        let mut state = State::new("hello");
        state.lineage = "l1".into();
        state.serial = 7;
        assert_eq!(p.check_current(&state, "abc"), Ok(()));

        state.serial = 9;
        let err = p.check_current(&state, "abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the state changed since this plan was made (serial 7, now 9); run plan again"
        );

        state.serial = 7;
        assert_eq!(p.check_current(&state, "def"), Err(StalePlan::StackFile));

        state.lineage = "l2".into();
        assert!(matches!(
            p.check_current(&state, "abc"),
            Err(StalePlan::Lineage { .. })
        ));
    }

    #[test]
    fn actions_serialise_lowercase() {
        assert_eq!(
            serde_json::to_string(&Action::Replace).unwrap(),
            "\"replace\""
        );
        let back: Action = serde_json::from_str("\"delete\"").unwrap();
        assert_eq!(back, Action::Delete);
    }

    #[test]
    fn data_is_recorded_under_the_state_keys() {
        let data = Data {
            azs: Some(vec!["eu-west-2a".into()]),
            ami_id: Some("ami-1".into()),
            region: None,
            account_id: Some("123456789012".into()),
        };
        let p = plan(vec![]).with_data(&data);
        let keys: Vec<&str> = p.data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["account_id", "ami_id", "azs"]);
    }
}
