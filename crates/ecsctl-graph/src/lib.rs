//! Resources, their addresses and values, and the dependency graph a stack expands into.
//!
//! `expand(stack, data)` turns a validated [`ecsctl_stack::Stack`] into a [`Graph`] of
//! [`Resource`]s whose arguments follow the per-kind table in [`kinds`].

mod address;
mod dot;
mod expand;
mod graph;
pub mod kinds;
mod value;

pub use address::{Address, AddressError, Kind};

/// The tag naming the stack a resource belongs to.
pub const STACK_TAG: &str = "ecsctl:stack";
/// The tag naming a resource's address in its stack.
pub const ADDRESS_TAG: &str = "ecsctl:address";
/// The tag naming the region the stack of a resource in a global service (IAM, Route53)
/// runs in: the stack tag alone cannot tell one stack name's resources in two regions apart.
pub const REGION_TAG: &str = "ecsctl:region";
pub use dot::to_dot;
pub use expand::{expand, Data};
pub use graph::{CycleError, Graph, Resource};
pub use kinds::KindSchema;
pub use value::{Ref, Value};
