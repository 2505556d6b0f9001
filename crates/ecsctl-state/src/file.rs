//! Reading and writing the state file (to be written).
#[derive(Debug, thiserror::Error)]
#[error("state error")]
pub struct StateError;
pub fn backup_path() {}
pub fn read() {}
pub fn read_or_new() {}
pub fn write() {}
