//! Problems found in a stack file, each with a location and a hint.

use std::fmt;

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

impl Diagnostic {
    /// The `file:line:column` prefix; the line and column are left out when unknown.
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// `stack.toml:12:5: error: unknown key `instnce_type` in [cluster]`, then
/// `  hint: did you mean `instance_type`?` on the next line when there is a hint.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.location(), self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl Diagnostics {
    /// Every diagnostic in the compiler-like format of [`Diagnostic`]'s `Display`, one
    /// after the other, each line ending in a newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&d.to_string());
            out.push('\n');
        }
        out
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: usize, hint: Option<&str>) -> Diagnostic {
        Diagnostic {
            file: "stack.toml".into(),
            line,
            column: 5,
            message: "unknown key `instnce_type` in [cluster]".into(),
            hint: hint.map(str::to_string),
        }
    }

    #[test]
    fn display_has_location_message_and_hint() {
        let d = diag(12, Some("did you mean `instance_type`?"));
        assert_eq!(
            d.to_string(),
            "stack.toml:12:5: error: unknown key `instnce_type` in [cluster]\n  hint: did you mean `instance_type`?"
        );
    }

    #[test]
    fn display_without_position_or_hint() {
        let d = diag(0, None);
        assert_eq!(
            d.to_string(),
            "stack.toml: error: unknown key `instnce_type` in [cluster]"
        );
    }

    #[test]
    fn render_joins_every_diagnostic() {
        let ds = Diagnostics(vec![diag(1, Some("h")), diag(2, None)]);
        assert_eq!(
            ds.render(),
            "stack.toml:1:5: error: unknown key `instnce_type` in [cluster]\n  hint: h\n\
             stack.toml:2:5: error: unknown key `instnce_type` in [cluster]\n"
        );
        assert_eq!(ds.len(), 2);
    }
}
