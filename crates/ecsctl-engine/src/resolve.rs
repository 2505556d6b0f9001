//! Turning a change's desired arguments into the JSON a provider receives, and the small
//! values an intent record needs (token, time).

use ecsctl_graph::{Address, Value};
use ecsctl_provider::{Attrs, ErrorClass, ProviderError};
use ecsctl_state::State;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Resolve every reference in `after` against `state`. A reference to a resource that is
/// not in the state (its change failed or did not run) or to an attribute it does not
/// have, and a value not known before apply, are errors naming the argument.
pub fn resolve_args(
    address: &Address,
    after: &BTreeMap<String, Value>,
    state: &State,
) -> Result<Attrs, ProviderError> {
    let mut out = Attrs::new();
    for (name, value) in after {
        for r in value.refs() {
            if state.lookup(r).is_none() {
                let why = if state.resources.contains_key(&r.address) {
                    format!("{} has no attribute `{}`", r.address, r.attr)
                } else {
                    format!(
                        "{} does not exist in the state (its change failed or did not run)",
                        r.address
                    )
                };
                return Err(ProviderError::new(
                    ErrorClass::InvalidInput,
                    format!("argument `{name}` refers to `{r}`, which cannot be resolved: {why}"),
                )
                .at(address));
            }
        }
        let resolved = value.substitute(&|r| state.lookup(r));
        let json = resolved.to_json().ok_or_else(|| {
            ProviderError::new(
                ErrorClass::InvalidInput,
                format!(
                    "argument `{name}` is not known before apply (a data lookup was not made); \
                     run `ecsctl plan` again"
                ),
            )
            .at(address)
        })?;
        out.insert(name.clone(), json);
    }
    Ok(out)
}

/// A fresh idempotency token: 32 random hex digits (fits every AWS client token).
pub fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The current UTC time in RFC 3339 form, to the second.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsctl_graph::Kind;
    use ecsctl_state::ResourceState;
    use serde_json::json;

    fn state_with_vpc() -> State {
        let mut s = State::new("t");
        s.resources.insert(
            Address::new(Kind::Vpc, "main"),
            ResourceState {
                id: "vpc-1".into(),
                args: json!({"cidr_block": "10.0.0.0/16"})
                    .as_object()
                    .unwrap()
                    .clone(),
                outputs: Attrs::new(),
                deps: vec![],
            },
        );
        s
    }

    #[test]
    fn refs_resolve_to_ids_and_args() {
        let vpc = Address::new(Kind::Vpc, "main");
        let sub = Address::new(Kind::Subnet, "a");
        let after = BTreeMap::from([
            ("vpc_id".to_string(), vpc.attr("id")),
            ("cidr".to_string(), Value::list([vpc.attr("cidr_block")])),
        ]);
        let out = resolve_args(&sub, &after, &state_with_vpc()).unwrap();
        assert_eq!(out["vpc_id"], json!("vpc-1"));
        assert_eq!(out["cidr"], json!(["10.0.0.0/16"]));
    }

    #[test]
    fn an_unresolvable_ref_names_the_argument_and_the_resource() {
        let sub = Address::new(Kind::Subnet, "a");
        let missing = Address::new(Kind::InternetGateway, "main");
        let after = BTreeMap::from([("gw".to_string(), missing.attr("id"))]);
        let err = resolve_args(&sub, &after, &state_with_vpc()).unwrap_err();
        assert_eq!(err.address, Some(sub.clone()));
        assert!(err.message.contains("`gw`"), "{err}");
        assert!(err.message.contains("internet_gateway.main"), "{err}");

        let vpc = Address::new(Kind::Vpc, "main");
        let after = BTreeMap::from([("x".to_string(), vpc.attr("arn"))]);
        let err = resolve_args(&sub, &after, &state_with_vpc()).unwrap_err();
        assert!(err.message.contains("no attribute `arn`"), "{err}");

        let after = BTreeMap::from([("ami".to_string(), Value::Unknown)]);
        let err = resolve_args(&sub, &after, &state_with_vpc()).unwrap_err();
        assert!(err.message.contains("not known before apply"), "{err}");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn tokens_are_fresh_hex() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
