//! The versioned ecsctl state file: one JSON document per stack, written atomically with a
//! backup of the previous version, guarded by a lock file naming its holder.

mod file;
mod lock;
mod model;

pub use file::{backup_path, default_path, read, read_or_new, write, StateError};
pub use lock::{Lock, LockError, LockInfo};
pub use model::*;
