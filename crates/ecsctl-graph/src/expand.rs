//! Expansion of a validated stack into resources (to be written).

use crate::Graph;
use ecsctl_stack::Stack;

/// Values looked up from the cloud before expansion. `None` means not looked up: the
/// dependent arguments are `Value::Unknown` in the graph.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Data {
    /// Availability zone names, in order, at least as many as the stack uses.
    pub azs: Option<Vec<String>>,
    /// The AMI id the cluster's `ami` resolves to.
    pub ami_id: Option<String>,
    /// The region the stack is applied in.
    pub region: Option<String>,
    /// The AWS account id.
    pub account_id: Option<String>,
}

pub fn expand(_stack: &Stack, _data: &Data) -> Graph {
    Graph::new()
}
