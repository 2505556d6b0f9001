//! The plan: a pure diff of the desired resources (a [`ecsctl_graph::Graph`]) against the
//! state, with no I/O but the explicit plan-file functions [`save`] and [`load`].
//!
//! - [`plan`] and [`plan_destroy`] make a [`Plan`]: one [`Change`] per resource that changes
//!   ([`Action`]: create, update, replace, delete), ordered by dependencies;
//! - [`drift`] merges what a refresh read into the state and shows what changed outside
//!   ecsctl;
//! - [`normalize`] holds the rules that make equal things compare equal;
//! - [`render`] shows a plan to people ([`render::human`]) and programs ([`render::json`]);
//! - [`Plan::check_current`] refuses a saved plan once the state or stack file moved on.

mod diff;
pub mod drift;
mod executable;
mod file;
mod interruptions;
mod model;
pub mod normalize;
pub mod render;

pub use diff::{plan, plan_destroy, stable_under_update, PlanError};
pub use executable::{effective_cbd, stuck, Stuck};
pub use file::{load, save, PlanFileError};
pub use interruptions::{interruptions, Interruption};
pub use model::{data_map, Action, AttrDiff, Change, Plan, StalePlan, FORMAT_VERSION};
