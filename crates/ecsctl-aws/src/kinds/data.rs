//! Data lookups: availability zones, the AMI from SSM, region and account.
//!
//! The zones and the AMI are looked up only when the query asks for them; the region comes
//! from the clients and the account from STS (which also proves the credentials work
//! before anything is planned). The calls run concurrently.

use crate::{error, Clients};
use aws_sdk_ec2::types::AvailabilityZoneState;
use ecsctl_graph::Data;
use ecsctl_provider::{DataQuery, ErrorClass, ProviderError};

use super::ec2::filter;

pub async fn lookup(aws: &Clients, q: &DataQuery) -> Result<Data, ProviderError> {
    let azs = async {
        match q.az_count {
            Some(n) => zones(aws, n).await.map(Some),
            None => Ok(None),
        }
    };
    let ami = async {
        match &q.ami_parameter {
            Some(p) => ami(aws, p).await.map(Some),
            None => Ok(None),
        }
    };
    let (azs, ami_id, account_id) = tokio::join!(azs, ami, account(aws));
    Ok(Data {
        azs: azs?,
        ami_id: ami_id?,
        region: (!aws.region.is_empty()).then(|| aws.region.clone()),
        account_id: Some(account_id?),
    })
}

/// The first `count` available zone names of the region, in name order.
async fn zones(aws: &Clients, count: usize) -> Result<Vec<String>, ProviderError> {
    tracing::debug!(count, "DescribeAvailabilityZones");
    let out = aws
        .ec2
        .describe_availability_zones()
        .filters(filter("state", ["available"]))
        .send()
        .await
        .map_err(|e| error::with_context(error::map(e), "while listing the availability zones"))?;
    let mut names: Vec<String> = out
        .availability_zones()
        .iter()
        .filter(|z| {
            z.state()
                .is_none_or(|s| *s == AvailabilityZoneState::Available)
        })
        // Local and Wavelength zones are opt-in extensions, not zones to spread over.
        .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
        .filter_map(|z| z.zone_name().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    pick(names, count, &aws.region)
}

fn pick(names: Vec<String>, count: usize, region: &str) -> Result<Vec<String>, ProviderError> {
    if names.len() < count {
        let listed = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        return Err(ProviderError::new(
            ErrorClass::InvalidInput,
            format!(
                "the stack asks for {count} availability zones but region {region} has only {} available ({listed}): lower `azs` in [network]",
                names.len()
            ),
        ));
    }
    Ok(names.into_iter().take(count).collect())
}

/// The AMI id stored in the SSM parameter `name`.
async fn ami(aws: &Clients, name: &str) -> Result<String, ProviderError> {
    tracing::debug!(parameter = name, "GetParameter");
    let out = aws
        .ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .map_err(|e| {
            let e = error::map(e);
            let mut what = format!("reading the AMI id from SSM parameter `{name}`");
            if e.class == ErrorClass::NotFound {
                what.push_str(&format!(
                    " (it does not exist in region {}: check the cluster's `ami`)",
                    aws.region
                ));
            }
            error::with_context(e, &what)
        })?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::InvalidInput,
                format!("SSM parameter `{name}` has no value: point the cluster's `ami` at a parameter holding an AMI id"),
            )
        })
}

/// The account the credentials belong to.
async fn account(aws: &Clients) -> Result<String, ProviderError> {
    tracing::debug!("GetCallerIdentity");
    let out = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| error::with_context(error::map(e), "checking the AWS credentials"))?;
    out.account().map(str::to_string).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Other,
            "STS GetCallerIdentity returned no account",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_zones_says_how_many_exist() {
        let e = pick(
            vec!["eu-west-2a".into(), "eu-west-2b".into()],
            3,
            "eu-west-2",
        )
        .unwrap_err();
        assert_eq!(e.class, ErrorClass::InvalidInput);
        assert!(e.message.contains("only 2 available"), "{}", e.message);
        assert!(
            e.message.contains("eu-west-2a, eu-west-2b"),
            "{}",
            e.message
        );
    }

    #[test]
    fn picks_the_first_in_name_order() {
        let got = pick(vec!["a".into(), "b".into(), "c".into()], 2, "r").expect("enough");
        assert_eq!(got, vec!["a".to_string(), "b".to_string()]);
    }
}
