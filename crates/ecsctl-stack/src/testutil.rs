//! Helpers for the unit tests: small stacks and position lookups.

use crate::{parse, Diagnostic, Stack};

/// One minimal service block, appended after whatever a test puts in front of it.
pub(crate) const SERVICE: &str =
    "\n[[service]]\nname = \"web\"\nimage = \"nginx:1.27\"\ncontainer_port = 80\n";

/// `[stack] name = "hello"`, then `extra`, then [`SERVICE`].
pub(crate) fn stack_with(extra: &str) -> String {
    format!("[stack]\nname = \"hello\"\n{extra}{SERVICE}")
}

pub(crate) fn ok(src: &str) -> Stack {
    match parse(src, "stack.toml") {
        Ok(s) => s,
        Err(e) => panic!(
            "expected a valid stack, got:\n{}\nsource:\n{src}",
            e.render()
        ),
    }
}

pub(crate) fn errors(src: &str) -> Vec<Diagnostic> {
    match parse(src, "stack.toml") {
        Ok(_) => panic!("expected diagnostics for:\n{src}"),
        Err(e) => e.0,
    }
}

/// The single diagnostic `src` produces.
pub(crate) fn only(src: &str) -> Diagnostic {
    let mut e = errors(src);
    assert_eq!(
        e.len(),
        1,
        "expected one diagnostic, got:\n{}",
        crate::Diagnostics(e.clone()).render()
    );
    e.remove(0)
}

/// 1-based line and column of the `nth` (0-based) occurrence of `needle` in `src`.
pub(crate) fn pos_nth(src: &str, needle: &str, nth: usize) -> (usize, usize) {
    let offset = src
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` not in the source"))
        .0;
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

pub(crate) fn pos(src: &str, needle: &str) -> (usize, usize) {
    pos_nth(src, needle, 0)
}

/// Asserts a diagnostic sits where `needle` first appears and its message and hint
/// contain the given texts.
#[track_caller]
pub(crate) fn check(d: &Diagnostic, src: &str, needle: &str, message: &str, hint: &str) {
    assert_eq!((d.line, d.column), pos(src, needle), "position of {d}");
    assert!(
        d.message.contains(message),
        "message of {d}\nexpected: {message}"
    );
    let h = d.hint.as_deref().unwrap_or("");
    assert!(h.contains(hint), "hint of {d}\nexpected: {hint}");
    assert_eq!(d.file, "stack.toml");
}
