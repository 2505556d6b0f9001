//! One AWS request as the behaviour rules see it: its parameters, whatever the protocol.

use crate::classify::{Call, Protocol};
use bytes::Bytes;
use hyper::HeaderMap;

/// A request the rules may look at: the classified call, its form parameters (EC2 and
/// awsQuery), its JSON body (awsJson) or its raw body (Route53).
pub(crate) struct Req<'a> {
    pub call: &'a Call,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    form: Vec<(String, String)>,
    json: Option<serde_json::Value>,
}

impl<'a> Req<'a> {
    pub fn new(call: &'a Call, headers: &'a HeaderMap, body: &'a Bytes) -> Self {
        let (form, json) = match &call.protocol {
            Protocol::Ec2Query | Protocol::AwsQuery => (crate::classify::form_params(body), None),
            Protocol::AwsJson { .. } => (Vec::new(), serde_json::from_slice(body).ok()),
            _ => (Vec::new(), None),
        };
        Req {
            call,
            headers,
            body,
            form,
            json,
        }
    }

    /// `service:Action`.
    pub fn key(&self) -> String {
        self.call.key()
    }

    /// The first form parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every form parameter whose name starts with `prefix` and ends with `suffix`
    /// (`SecurityGroupIds.member.` … ``), in request order.
    pub fn params_like(&self, prefix: &str, suffix: &str) -> Vec<(&str, &str)> {
        self.form
            .iter()
            .filter(|(k, _)| k.starts_with(prefix) && k.ends_with(suffix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The JSON body of an awsJson call.
    pub fn json(&self) -> Option<&serde_json::Value> {
        self.json.as_ref()
    }

    /// The raw body as text (Route53's XML).
    pub fn text(&self) -> &str {
        std::str::from_utf8(self.body).unwrap_or("")
    }

    /// The `x-moto-account-id` header, or the emulator's default account: what keeps the
    /// rules' memory of one account apart from another's.
    pub fn account(&self) -> String {
        self.headers
            .get("x-moto-account-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("123456789012")
            .to_string()
    }
}

/// The texts between `<tag>` and `</tag>` in an XML document, in order. Enough for the
/// flat answers the rules read (ids, states, descriptions); entities are decoded.
pub(crate) fn xml_texts(xml: &str, tag: &str) -> Vec<String> {
    xml_items(xml, tag).into_iter().map(unescape).collect()
}

/// The XML elements `<tag>…</tag>` (whole, nested tags included), in order.
pub(crate) fn xml_items<'x>(xml: &'x str, tag: &str) -> Vec<&'x str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_texts_and_items() {
        let xml = "<a><item><id>x&amp;1</id></item><item><id>2</id></item></a>";
        assert_eq!(xml_texts(xml, "id"), vec!["x&1", "2"]);
        assert_eq!(xml_items(xml, "item").len(), 2);
        assert!(xml_texts(xml, "none").is_empty());
    }
}
