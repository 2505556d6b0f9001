//! Problems found in a stack file, each with a location and a hint.

/// One problem: where, what, how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line and column; 0 when the problem has no position (e.g. unreadable file).
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// Every problem found, in file order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the stack file", .0.len())]
pub struct Diagnostics(pub Vec<Diagnostic>);
