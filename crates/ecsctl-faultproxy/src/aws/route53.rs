//! Route53 rules: tags per call.

use super::request::Req;
use super::{Refusal, RuleDoc};

pub(crate) const TAGS_PER_CALL: RuleDoc = RuleDoc {
    name: "route53-tags-per-call",
    calls: "route53:ChangeTagsForResource",
    behaviour: "At most 10 tags added and 10 keys removed a call (InvalidInput).",
    source:
        "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeTagsForResource.html \
             (AddTags: \"You can add a maximum of 10 tags\"; RemoveTagKeys: \"up to 10 keys\")",
};

pub(crate) fn before(req: &Req) -> Option<(&'static str, Refusal)> {
    if req.call.action != "ChangeTagsForResource" {
        return None;
    }
    let body = req.text();
    let added = body.matches("<Tag>").count();
    let removed = body.matches("<Key>").count().saturating_sub(added);
    (added > 10 || removed > 10).then(|| {
        (
            TAGS_PER_CALL.name,
            Refusal::new(
                400,
                "InvalidInput",
                format!(
                    "Invalid XML ; cvc-complex-type.2.4.f: 'Tag' can occur a maximum of '10' \
                     times in the current sequence ({added} tags added, {removed} keys removed \
                     in one call)."
                ),
            ),
        )
    })
}
