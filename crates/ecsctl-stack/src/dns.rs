//! `[dns]`: the private hosted zone.

use crate::keys;
use crate::reader::{report, section, Ctx, Got, Section};
use crate::rules;
use crate::Dns;

pub(crate) fn read(ctx: &mut Ctx<'_>, root: &Section<'_>) -> Option<Dns> {
    let s = section(ctx, root, "dns").ok()?;
    s.check_keys(ctx, keys::DNS);
    let (zone, span) = match s.required_string(ctx, "zone", "\"myorg.local.\"") {
        Got::Val(z, span) => (z, span),
        _ => return None,
    };
    match rules::zone(&zone) {
        Ok(zone) => Some(Dns { zone }),
        Err(p) => {
            report(ctx, &span, "zone", &zone, p);
            None
        }
    }
}
