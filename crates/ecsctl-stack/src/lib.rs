//! The ecsctl stack file: `parse` reads TOML with positions, validates every section and
//! returns either a typed [`Stack`] or every problem found, each with its location.

mod diagnostics;
mod model;
mod parse;

pub use diagnostics::{Diagnostic, Diagnostics};
pub use model::*;
pub use parse::{load, parse};
