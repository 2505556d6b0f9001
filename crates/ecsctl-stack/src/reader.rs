//! Typed reads from the parsed TOML document that report, with positions, every unknown
//! key, wrong type and missing key instead of stopping at the first.

use crate::cidr;
use crate::rules::Problem;
use crate::text::{suggest, LineIndex};
use crate::Diagnostic;
use ipnet::Ipv4Net;
use std::ops::Range;
use toml_edit::{Item, Key, TableLike, Value};

/// A byte range in the source, when the parser recorded one.
pub(crate) type Span = Option<Range<usize>>;

/// Collects diagnostics for one file.
pub(crate) struct Ctx<'s> {
    file: String,
    index: LineIndex<'s>,
    diags: Vec<Diagnostic>,
}

impl<'s> Ctx<'s> {
    pub(crate) fn new(src: &'s str, file: &str) -> Self {
        Ctx {
            file: file.to_string(),
            index: LineIndex::new(src),
            diags: Vec::new(),
        }
    }

    /// Records a problem at the start of `span` (line 1, column 1 when there is none).
    pub(crate) fn error(
        &mut self,
        span: &Span,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let offset = span.as_ref().map_or(0, |s| s.start);
        let (line, column) = self.index.position(offset);
        self.diags.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
            hint: Some(hint.into()),
        });
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.diags.is_empty()
    }

    /// Every diagnostic, in file order (stable for problems at the same position).
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        self.diags.sort_by_key(|d| (d.line, d.column));
        self.diags
    }
}

/// The outcome of reading one key.
#[derive(Debug)]
pub(crate) enum Got<T> {
    /// The key is not there.
    Absent,
    /// The key is there but wrong; a diagnostic was recorded.
    Bad,
    /// The value and where it is.
    Val(T, Span),
}

impl<T> Got<T> {
    pub(crate) fn ok(self) -> Option<T> {
        match self {
            Got::Val(v, _) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn is_bad(&self) -> bool {
        matches!(self, Got::Bad)
    }

    /// The value, or `default` when absent; `None` when bad.
    pub(crate) fn or_default(self, default: T) -> Option<T> {
        match self {
            Got::Absent => Some(default),
            Got::Bad => None,
            Got::Val(v, _) => Some(v),
        }
    }
}

/// "a string", "an integer", ... for messages.
pub(crate) fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => value_type_name(v),
    }
}

pub(crate) fn value_type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "an inline table",
    }
}

/// One table of the file (`[cluster]`, one `[[service]]`, or an inline table) being read.
pub(crate) struct Section<'a> {
    /// How messages name it: `[cluster]`, `[[service]] #2`; empty for the whole file.
    pub(crate) label: String,
    /// The TOML path of the table: `cluster`, `service`; empty for the whole file.
    pub(crate) path: String,
    pub(crate) table: &'a dyn TableLike,
    /// Where to point for problems with the section as a whole (its header).
    pub(crate) span: Span,
}

impl<'a> Section<'a> {
    /// The section held by `item`, or `None` when the item is not a table.
    pub(crate) fn of(
        label: impl Into<String>,
        path: impl Into<String>,
        item: &'a Item,
        fallback: Span,
    ) -> Option<Self> {
        let table = item.as_table_like()?;
        let own = match item {
            Item::Table(t) => t.span(),
            Item::Value(v) => v.span(),
            _ => None,
        };
        let span = own.or(fallback).or_else(|| first_span(table));
        Some(Section {
            label: label.into(),
            path: path.into(),
            table,
            span,
        })
    }

    /// ` in [cluster]`, or nothing for the top level of the file.
    pub(crate) fn within(&self) -> String {
        if self.label.is_empty() {
            String::new()
        } else {
            format!(" in {}", self.label)
        }
    }

    /// Reports every key not in `allowed`, suggesting the closest allowed one.
    pub(crate) fn check_keys(&self, ctx: &mut Ctx<'_>, allowed: &[&str]) {
        for (name, _) in self.table.iter() {
            if allowed.contains(&name) {
                continue;
            }
            let span = self.table.key(name).and_then(Key::span);
            let hint = match suggest(name, allowed) {
                Some(s) => format!("did you mean `{s}`?"),
                None if crate::keys::ROOT.contains(&name) => {
                    let header = if name == "service" {
                        "[[service]]".to_string()
                    } else {
                        format!("[{name}]")
                    };
                    format!(
                        "`{header}` is a section of its own: start it with a `{header}` line, not inside {}",
                        self.label
                    )
                }
                None => format!(
                    "the keys {} accepts are: {}",
                    self.label,
                    allowed.join(", ")
                ),
            };
            ctx.error(
                &span,
                format!("unknown key `{name}` in {}", self.label),
                hint,
            );
        }
    }

    pub(crate) fn entry(&self, key: &str) -> Option<(&'a Key, &'a Item)> {
        self.table.get_key_value(key)
    }

    /// Where a key's value is (falling back to the key, then the section).
    pub(crate) fn value_span(&self, key: &str) -> Span {
        match self.entry(key) {
            Some((k, item)) => item.span().or_else(|| k.span()).or(self.span.clone()),
            None => self.span.clone(),
        }
    }

    fn wrong_type(&self, ctx: &mut Ctx<'_>, key: &str, item: &Item, expected: &str, example: &str) {
        let span = self.value_span(key);
        let found = type_name(item);
        let hint = match (expected, item) {
            ("an integer", Item::Value(Value::String(_))) => {
                format!("remove the quotes: `{key} = {example}`")
            }
            _ => format!("for example `{key} = {example}`"),
        };
        ctx.error(
            &span,
            format!("`{key}`{} must be {expected}, found {found}", self.within()),
            hint,
        );
    }

    /// Reports a missing required key at the section header.
    pub(crate) fn missing(&self, ctx: &mut Ctx<'_>, key: &str, example: &str) {
        ctx.error(
            &self.span,
            format!("missing required key `{key}` in {}", self.label),
            format!("add `{key} = {example}` to {}", self.label),
        );
    }

    pub(crate) fn string(&self, ctx: &mut Ctx<'_>, key: &str, example: &str) -> Got<String> {
        match self.entry(key) {
            None => Got::Absent,
            Some((_, Item::Value(Value::String(s)))) => {
                Got::Val(s.value().clone(), self.value_span(key))
            }
            Some((_, item)) => {
                self.wrong_type(ctx, key, item, "a string", example);
                Got::Bad
            }
        }
    }

    /// A string that must be there.
    pub(crate) fn required_string(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        example: &str,
    ) -> Got<String> {
        let got = self.string(ctx, key, example);
        if matches!(got, Got::Absent) {
            self.missing(ctx, key, example);
            return Got::Bad;
        }
        got
    }

    pub(crate) fn integer(&self, ctx: &mut Ctx<'_>, key: &str, example: &str) -> Got<i64> {
        match self.entry(key) {
            None => Got::Absent,
            Some((_, Item::Value(Value::Integer(i)))) => Got::Val(*i.value(), self.value_span(key)),
            Some((_, item)) => {
                self.wrong_type(ctx, key, item, "an integer", example);
                Got::Bad
            }
        }
    }

    /// An integer within `min..=max`, converted to `T`.
    pub(crate) fn int_in<T: TryFrom<i64>>(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        min: i64,
        max: i64,
        unit: &str,
        example: &str,
    ) -> Got<T> {
        match self.integer(ctx, key, example) {
            Got::Val(v, span) => {
                if v < min || v > max {
                    ctx.error(
                        &span,
                        format!(
                            "`{key}` in {} is {v}{unit}, outside the allowed range {min} to {max}",
                            self.label
                        ),
                        format!("use a whole number from {min} to {max}{unit}"),
                    );
                    return Got::Bad;
                }
                match T::try_from(v) {
                    Ok(t) => Got::Val(t, span),
                    Err(_) => Got::Bad,
                }
            }
            Got::Absent => Got::Absent,
            Got::Bad => Got::Bad,
        }
    }

    /// An integer or a float.
    pub(crate) fn number(&self, ctx: &mut Ctx<'_>, key: &str, example: &str) -> Got<f64> {
        match self.entry(key) {
            None => Got::Absent,
            Some((_, Item::Value(Value::Integer(i)))) => {
                Got::Val(*i.value() as f64, self.value_span(key))
            }
            Some((_, Item::Value(Value::Float(f)))) => Got::Val(*f.value(), self.value_span(key)),
            Some((_, item)) => {
                self.wrong_type(ctx, key, item, "a number", example);
                Got::Bad
            }
        }
    }

    /// An array of strings, each with its own position. Every wrong element is reported.
    pub(crate) fn string_array(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        example: &str,
    ) -> Got<Vec<(String, Span)>> {
        let array = match self.entry(key) {
            None => return Got::Absent,
            Some((_, Item::Value(Value::Array(a)))) => a,
            Some((_, item)) => {
                self.wrong_type(ctx, key, item, "an array of strings", example);
                return Got::Bad;
            }
        };
        let mut out = Vec::new();
        let mut bad = false;
        for (i, v) in array.iter().enumerate() {
            match v {
                Value::String(s) => out.push((s.value().clone(), v.span())),
                other => {
                    bad = true;
                    let span = other.span().or_else(|| self.value_span(key));
                    ctx.error(
                        &span,
                        format!(
                            "element {} of `{key}`{} must be a string, found {}",
                            i + 1,
                            self.within(),
                            value_type_name(other)
                        ),
                        format!("for example `{key} = {example}`"),
                    );
                }
            }
        }
        if bad {
            Got::Bad
        } else {
            Got::Val(out, self.value_span(key))
        }
    }

    /// A sub-table (`[cluster.scaling]`, `[stack.tags]`, or an inline table).
    pub(crate) fn table(&self, ctx: &mut Ctx<'_>, key: &str, example: &str) -> Got<Section<'a>> {
        let Some((k, item)) = self.entry(key) else {
            return Got::Absent;
        };
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        let label = if self.label.starts_with("[[") {
            format!("[{path}] of {}", self.label)
        } else {
            format!("[{path}]")
        };
        match Section::of(label, path, item, k.span()) {
            Some(section) => {
                let span = section.span.clone();
                Got::Val(section, span)
            }
            None => {
                self.wrong_type(ctx, key, item, "a table", example);
                Got::Bad
            }
        }
    }

    /// A table whose values are all strings (`[stack.tags]`, `[service.environment]`):
    /// (key, key position, value, value position) in file order.
    pub(crate) fn string_map(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        example: &str,
    ) -> Got<Vec<(String, Span, String, Span)>> {
        let section = match self.table(ctx, key, example) {
            Got::Val(s, _) => s,
            Got::Absent => return Got::Absent,
            Got::Bad => return Got::Bad,
        };
        let mut out = Vec::new();
        let mut bad = false;
        for (name, item) in section.table.iter() {
            let key_span = section.table.key(name).and_then(Key::span);
            match item {
                Item::Value(Value::String(s)) => {
                    out.push((name.to_string(), key_span, s.value().clone(), item.span()))
                }
                other => {
                    bad = true;
                    let span = other.span().or(key_span);
                    let hint = match other {
                        Item::Value(Value::Integer(i)) => {
                            format!("quote it: `{name} = \"{}\"`", i.value())
                        }
                        Item::Value(Value::Float(f)) => {
                            format!("quote it: `{name} = \"{}\"`", f.value())
                        }
                        Item::Value(Value::Boolean(b)) => {
                            format!("quote it: `{name} = \"{}\"`", b.value())
                        }
                        _ => format!("write it as a string: `{name} = \"...\"`"),
                    };
                    ctx.error(
                        &span,
                        format!(
                            "`{name}` in {} must be a string, found {}",
                            section.label,
                            type_name(other)
                        ),
                        hint,
                    );
                }
            }
        }
        if bad {
            Got::Bad
        } else {
            Got::Val(out, section.span.clone())
        }
    }
}

/// The first position recorded inside a table: for tables that have no header of their
/// own (implicit parents like `[cluster]` in `[cluster.scaling]`, dotted keys).
fn first_span(table: &dyn TableLike) -> Span {
    table.iter().find_map(|(name, item)| {
        table
            .key(name)
            .and_then(Key::span)
            .or_else(|| item.span())
            .or_else(|| item.as_table_like().and_then(first_span))
    })
}
/// Records `problem` about `what` (e.g. "`name` in [stack]") at `span`.
pub(crate) fn report(ctx: &mut Ctx<'_>, span: &Span, what: &str, value: &str, problem: Problem) {
    ctx.error(
        span,
        format!("invalid {what} `{value}`: {}", problem.reason),
        problem.hint,
    );
}

/// A top-level section, or `Absent`; reports a top-level key of the wrong type.
pub(crate) fn section<'a>(ctx: &mut Ctx<'_>, root: &Section<'a>, key: &str) -> Got<Section<'a>> {
    root.table(ctx, key, &format!("{{ ... }} (or a `[{key}]` section)"))
}

/// A list of CIDR blocks, each checked at its own position.
pub(crate) fn cidr_list(
    ctx: &mut Ctx<'_>,
    s: &Section<'_>,
    key: &str,
    example: &str,
) -> Got<Vec<(Ipv4Net, Span)>> {
    let items = match s.string_array(ctx, key, example) {
        Got::Val(items, span) => (items, span),
        Got::Absent => return Got::Absent,
        Got::Bad => return Got::Bad,
    };
    let mut out = Vec::new();
    let mut bad = false;
    for (text, span) in items.0 {
        match cidr::parse(&text) {
            Ok(net) => out.push((net, span)),
            Err(p) => {
                bad = true;
                report(ctx, &span, &format!("`{key}` block"), &text, p);
            }
        }
    }
    if bad {
        Got::Bad
    } else {
        Got::Val(out, items.1)
    }
}
