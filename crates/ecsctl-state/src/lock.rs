//! The state lock (to be written).
pub struct Lock;
#[derive(Debug, thiserror::Error)]
#[error("lock error")]
pub struct LockError;
pub struct LockInfo;
