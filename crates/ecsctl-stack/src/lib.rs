//! The ecsctl stack file: `parse` reads TOML with positions, validates every section and
//! returns either a typed [`Stack`] or every problem found, each with its location.
//!
//! ```
//! let src = "[stack]\nname = \"hello\"\n\n[[service]]\nname = \"web\"\nimage = \"nginx:1.27\"\ncontainer_port = 80\n";
//! let stack = ecsctl_stack::parse(src, "stack.toml").unwrap();
//! assert_eq!(stack.services[0].name, "web");
//!
//! let err = ecsctl_stack::parse("[stack]\nnme = \"x\"\n", "stack.toml").unwrap_err();
//! assert!(err.render().contains(
//!     "stack.toml:2:1: error: unknown key `nme` in [stack]\n  hint: did you mean `name`?\n"
//! ));
//! ```

mod cidr;
mod cluster;
mod diagnostics;
mod dns;
mod keys;
mod load_balancer;
mod model;
mod network;
mod parse;
mod reader;
mod rules;
mod service;
mod stack_section;
#[cfg(test)]
mod testutil;
mod text;

pub use diagnostics::{Diagnostic, Diagnostics};
pub use model::*;
pub use parse::{load, parse};
