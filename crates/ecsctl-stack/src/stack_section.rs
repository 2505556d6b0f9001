//! `[stack]`: the stack's name, region and tags.

use crate::keys;
use crate::reader::{report, section, Ctx, Got, Section, Span};
use crate::rules;
use std::collections::BTreeMap;

pub(crate) type StackHeader = (
    Option<String>,
    Span,
    Option<String>,
    BTreeMap<String, String>,
);

pub(crate) fn read(ctx: &mut Ctx<'_>, root: &Section<'_>) -> StackHeader {
    let s = match section(ctx, root, "stack") {
        Got::Val(s, _) => s,
        Got::Bad => return (None, None, None, BTreeMap::new()),
        Got::Absent => {
            ctx.error(
                &Some(0..0),
                "missing the [stack] section",
                "add `[stack]` with `name = \"hello\"` at the top of the file",
            );
            return (None, None, None, BTreeMap::new());
        }
    };
    s.check_keys(ctx, keys::STACK);

    let name = match s.required_string(ctx, "name", "\"hello\"") {
        Got::Val(name, span) => match rules::stack_name(&name) {
            Ok(()) => Some((name, span)),
            Err(p) => {
                report(ctx, &span, "stack name", &name, p);
                None
            }
        },
        _ => None,
    };

    let region = match s.string(ctx, "region", "\"eu-west-2\"") {
        Got::Val(r, span) => match rules::region(&r) {
            Ok(()) => Some(r),
            Err(p) => {
                report(ctx, &span, "region", &r, p);
                None
            }
        },
        _ => None,
    };

    let mut tags = BTreeMap::new();
    if let Got::Val(entries, span) = s.string_map(ctx, "tags", "{ Environment = \"dev\" }") {
        if entries.len() > rules::MAX_USER_TAGS {
            ctx.error(
                &span,
                format!(
                    "[stack.tags] has {} tags; at most {} fit (AWS allows 50 per resource and ecsctl adds up to 4)",
                    entries.len(),
                    rules::MAX_USER_TAGS
                ),
                "remove some tags",
            );
        }
        for (key, key_span, value, value_span) in entries {
            if let Err(p) = rules::tag_key(&key) {
                report(ctx, &key_span, "tag key", &key, p);
            }
            if let Err(p) = rules::tag_value(&value) {
                report(ctx, &value_span, &format!("tag `{key}` value"), &value, p);
            }
            tags.insert(key, value);
        }
    }

    let (name, name_span) = match name {
        Some((n, sp)) => (Some(n), sp),
        None => (None, s.span.clone()),
    };
    (name, name_span, region, tags)
}
