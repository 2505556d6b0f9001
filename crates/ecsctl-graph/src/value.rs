//! Desired attribute values: literal JSON-like trees that may hold references to other
//! resources' attributes (known once those exist) or values not known before apply.

use crate::Address;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::fmt;

/// `vpc.main.id`: attribute `id` of resource `vpc.main`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ref {
    pub address: Address,
    pub attr: String,
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.address, self.attr)
    }
}

impl std::str::FromStr for Ref {
    type Err = crate::AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, attr) = s
            .rsplit_once('.')
            .ok_or_else(|| crate::AddressError(format!("`{s}` is not address.attribute")))?;
        Ok(Ref {
            address: addr.parse()?,
            attr: attr.to_string(),
        })
    }
}

/// A desired value. Maps are ordered so that output and hashes are deterministic.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// An attribute of another resource.
    Ref(Ref),
    /// Known only after apply (e.g. a data lookup that has not been made).
    Unknown,
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn int(n: i64) -> Value {
        Value::Number(n.into())
    }

    pub fn list<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
        Value::List(items.into_iter().map(Into::into).collect())
    }

    /// Every reference inside this value.
    pub fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Ref>) {
        match self {
            Value::Ref(r) => out.push(r),
            Value::List(items) => items.iter().for_each(|v| v.collect_refs(out)),
            Value::Map(m) => m.values().for_each(|v| v.collect_refs(out)),
            _ => {}
        }
    }

    /// Replace every reference the lookup knows by its value; the rest become `Unknown`
    /// when `unknown_if_missing`, or stay references otherwise.
    pub fn substitute(&self, lookup: &dyn Fn(&Ref) -> Option<Json>) -> Value {
        match self {
            Value::Ref(r) => match lookup(r) {
                Some(j) => Value::from(j),
                None => Value::Unknown,
            },
            Value::List(items) => Value::List(items.iter().map(|v| v.substitute(lookup)).collect()),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.substitute(lookup)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// True when nothing in this value is a reference or unknown.
    pub fn is_known(&self) -> bool {
        match self {
            Value::Ref(_) | Value::Unknown => false,
            Value::List(items) => items.iter().all(Value::is_known),
            Value::Map(m) => m.values().all(Value::is_known),
            _ => true,
        }
    }

    /// The JSON form of a fully known value; `None` if anything is still unknown.
    pub fn to_json(&self) -> Option<Json> {
        Some(match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(s.clone()),
            Value::List(items) => Json::Array(
                items
                    .iter()
                    .map(Value::to_json)
                    .collect::<Option<Vec<_>>>()?,
            ),
            Value::Map(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    out.insert(k.clone(), v.to_json()?);
                }
                Json::Object(out)
            }
            Value::Ref(_) | Value::Unknown => return None,
        })
    }

    /// The JSON form used in plan files: references as `{"$ref": "vpc.main.id"}`, unknowns
    /// as `{"$unknown": true}`.
    pub fn to_tagged_json(&self) -> Json {
        match self {
            Value::Ref(r) => serde_json::json!({ "$ref": r.to_string() }),
            Value::Unknown => serde_json::json!({ "$unknown": true }),
            Value::List(items) => Json::Array(items.iter().map(Value::to_tagged_json).collect()),
            Value::Map(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.to_tagged_json()))
                    .collect(),
            ),
            other => other.to_json().unwrap_or(Json::Null),
        }
    }

    /// Inverse of [`Value::to_tagged_json`].
    pub fn from_tagged_json(j: &Json) -> Result<Value, String> {
        Ok(match j {
            Json::Object(m) if m.len() == 1 && m.contains_key("$ref") => {
                let s = m["$ref"].as_str().ok_or("`$ref` must be a string")?;
                Value::Ref(s.parse().map_err(|e: crate::AddressError| e.to_string())?)
            }
            Json::Object(m) if m.len() == 1 && m.contains_key("$unknown") => Value::Unknown,
            Json::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), Value::from_tagged_json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            Json::Array(items) => Value::List(
                items
                    .iter()
                    .map(Value::from_tagged_json)
                    .collect::<Result<_, _>>()?,
            ),
            other => Value::from(other.clone()),
        })
    }
}

impl From<Json> for Value {
    fn from(j: Json) -> Self {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Number(n),
            Json::String(s) => Value::String(s),
            Json::Array(a) => Value::List(a.into_iter().map(Value::from).collect()),
            Json::Object(o) => {
                Value::Map(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::int(n)
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::int(n as i64)
    }
}

impl From<u16> for Value {
    fn from(n: u16) -> Self {
        Value::int(n as i64)
    }
}

impl From<Ref> for Value {
    fn from(r: Ref) -> Self {
        Value::Ref(r)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_tagged_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = Json::deserialize(d)?;
        Value::from_tagged_json(&j).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    #[test]
    fn tagged_json_round_trips_refs_and_unknowns() {
        let vpc = Address::new(Kind::Vpc, "main");
        let v = Value::Map(BTreeMap::from([
            ("vpc_id".to_string(), vpc.attr("id")),
            ("ami".to_string(), Value::Unknown),
            ("ports".to_string(), Value::list([80i64, 443])),
        ]));
        let j = serde_json::to_string(&v).unwrap();
        let back: Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back, v);
        assert!(!v.is_known());
        assert_eq!(v.refs().len(), 1);
    }

    #[test]
    fn substitute_resolves_known_refs_and_marks_the_rest_unknown() {
        let vpc = Address::new(Kind::Vpc, "main");
        let v = Value::list([vpc.attr("id"), vpc.attr("arn")]);
        let out = v.substitute(&|r| (r.attr == "id").then(|| Json::from("vpc-1")));
        assert_eq!(out, Value::List(vec![Value::str("vpc-1"), Value::Unknown]));
    }
}
