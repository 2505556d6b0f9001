//! Typed access to a resource's resolved arguments, with errors that name the argument.

use ecsctl_provider::{Attrs, ErrorClass, ProviderError};
use serde_json::Value as Json;

fn missing(name: &str, want: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::InvalidInput,
        format!("argument `{name}` must be {want}"),
    )
}

pub fn str<'a>(args: &'a Attrs, name: &str) -> Result<&'a str, ProviderError> {
    args.get(name)
        .and_then(Json::as_str)
        .ok_or_else(|| missing(name, "a string"))
}

/// A string argument that may be absent or null.
pub fn opt_str<'a>(args: &'a Attrs, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Json::as_str)
}

pub fn int(args: &Attrs, name: &str) -> Result<i64, ProviderError> {
    args.get(name)
        .and_then(Json::as_i64)
        .ok_or_else(|| missing(name, "an integer"))
}

pub fn float(args: &Attrs, name: &str) -> Result<f64, ProviderError> {
    args.get(name)
        .and_then(Json::as_f64)
        .ok_or_else(|| missing(name, "a number"))
}

pub fn bool(args: &Attrs, name: &str) -> Result<bool, ProviderError> {
    args.get(name)
        .and_then(Json::as_bool)
        .ok_or_else(|| missing(name, "true or false"))
}

/// A list of strings; absent or null is empty.
pub fn strings(args: &Attrs, name: &str) -> Result<Vec<String>, ProviderError> {
    match args.get(name) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| missing(name, "a list of strings"))
            })
            .collect(),
        Some(_) => Err(missing(name, "a list of strings")),
    }
}

/// A list of objects; absent or null is empty.
pub fn objects<'a>(args: &'a Attrs, name: &str) -> Result<Vec<&'a Attrs>, ProviderError> {
    match args.get(name) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_object()
                    .ok_or_else(|| missing(name, "a list of objects"))
            })
            .collect(),
        Some(_) => Err(missing(name, "a list of objects")),
    }
}

pub fn object<'a>(args: &'a Attrs, name: &str) -> Result<&'a Attrs, ProviderError> {
    args.get(name)
        .and_then(Json::as_object)
        .ok_or_else(|| missing(name, "an object"))
}

/// The `tags` argument as sorted key/value pairs; absent is empty.
pub fn tags(args: &Attrs) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = args
        .get("tags")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Build a tags object from key/value pairs (for reads).
pub fn tags_json<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Json {
    Json::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Json::String(v)))
            .collect(),
    )
}
