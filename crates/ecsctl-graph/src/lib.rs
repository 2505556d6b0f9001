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
pub use dot::to_dot;
pub use expand::{expand, Data};
pub use graph::{CycleError, Graph, Resource};
pub use kinds::KindSchema;
pub use value::{Ref, Value};
