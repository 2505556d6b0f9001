//! Data lookups: availability zones that offer the instance type, the AMI from SSM for the
//! instance type's architecture, the key pair, region and account.
//!
//! The zones and the AMI are looked up only when the query asks for them; the region comes
//! from the clients and the account from STS (which also proves the credentials work
//! before anything is planned). The calls run concurrently.

use crate::{error, Clients};
use aws_sdk_ec2::types::AvailabilityZoneState;
use ecsctl_graph::Data;
use ecsctl_provider::{DataQuery, ErrorClass, ProviderError};

use super::ec2::filter;

/// `account`: the account already known (the identity check made at connect), else STS
/// is asked.
pub async fn lookup(
    aws: &Clients,
    q: &DataQuery,
    account_id: Option<&str>,
) -> Result<Data, ProviderError> {
    let arch = async {
        match &q.instance_type {
            Some(t) => architectures(aws, t).await.map(Some),
            None => Ok(None),
        }
    };
    let azs = async {
        match q.az_count {
            Some(n) => zones(aws, n, q.instance_type.as_deref()).await.map(Some),
            None => Ok(None),
        }
    };
    let key = async {
        match &q.key_name {
            Some(k) => key_pair(aws, k).await,
            None => Ok(()),
        }
    };
    let named = async {
        match (&q.instance_type, q.zone_names.is_empty()) {
            (Some(t), false) => named_zones_offer(aws, &q.zone_names, t).await,
            _ => Ok(()),
        }
    };
    // The image depends on the instance type's architecture.
    let ami = async {
        let arch = arch.await?;
        let arm_only = arch.as_ref().is_some_and(|a: &Vec<String>| {
            !a.iter().any(|x| x == "x86_64") && a.iter().any(|x| x == "arm64")
        });
        if let (Some(id), Some(supported)) = (&q.ami_id, &arch) {
            image_matches(aws, id, supported, q.instance_type.as_deref().unwrap_or("")).await?;
        }
        match &q.ami_parameter {
            Some(p) => ami(aws, &parameter_for(p, arm_only)).await.map(Some),
            None => Ok(None),
        }
    };
    let account_id = async {
        match account_id {
            Some(a) => Ok(a.to_string()),
            None => account(aws).await,
        }
    };
    let (azs, ami_id, key, named, account_id) = tokio::join!(azs, ami, key, named, account_id);
    key?;
    named?;
    Ok(Data {
        azs: azs?,
        ami_id: ami_id?,
        region: (!aws.region.is_empty()).then(|| aws.region.clone()),
        account_id: Some(account_id?),
    })
}

/// The ECS-optimised image parameters name an x86_64 image; their arm64 twin has
/// `arm64/` before `recommended` (ECS developer guide, "Retrieving Amazon ECS-optimized
/// Linux AMI metadata"). Other parameters are the user's choice and kept.
fn parameter_for(parameter: &str, arm_only: bool) -> String {
    const ECS: &str = "/aws/service/ecs/optimized-ami/";
    if !arm_only || !parameter.starts_with(ECS) || parameter.contains("/arm64/") {
        return parameter.to_string();
    }
    match parameter.find("/recommended") {
        Some(at) => format!("{}/arm64{}", &parameter[..at], &parameter[at..]),
        None => parameter.to_string(),
    }
}

/// The architectures instance type `t` runs (DescribeInstanceTypes
/// ProcessorInfo.SupportedArchitectures); a type the region does not know is refused.
async fn architectures(aws: &Clients, t: &str) -> Result<Vec<String>, ProviderError> {
    tracing::debug!(instance_type = t, "DescribeInstanceTypes");
    let out = aws
        .ec2
        .describe_instance_types()
        .instance_types(aws_sdk_ec2::types::InstanceType::from(t))
        .send()
        .await
        .map_err(|e| {
            let e = error::map(e);
            if e.class == ErrorClass::InvalidInput || e.class == ErrorClass::NotFound {
                ProviderError::new(
                    ErrorClass::InvalidInput,
                    format!(
                        "instance type `{t}` does not exist in region {}: check `instance_type` in [cluster] ({})",
                        aws.region, e.message
                    ),
                )
            } else {
                error::with_context(e, "looking up the instance type")
            }
        })?;
    Ok(out
        .instance_types()
        .first()
        .and_then(|i| i.processor_info())
        .map(|p| {
            p.supported_architectures()
                .iter()
                .map(|a| a.as_str().to_string())
                .collect()
        })
        .unwrap_or_default())
}

/// An explicit AMI must exist and be built for an architecture the instance type runs:
/// Auto Scaling refuses the launch template otherwise ("The architecture 'arm64' of the
/// specified instance type does not match the architecture 'x86_64' of the specified AMI").
async fn image_matches(
    aws: &Clients,
    id: &str,
    supported: &[String],
    instance_type: &str,
) -> Result<(), ProviderError> {
    tracing::debug!(image = id, "DescribeImages");
    let out = aws
        .ec2
        .describe_images()
        .image_ids(id)
        .send()
        .await
        .map_err(|e| error::with_context(error::map(e), &format!("looking up AMI `{id}`")))?;
    let Some(image) = out.images().first() else {
        return Err(ProviderError::new(
            ErrorClass::InvalidInput,
            format!(
                "AMI `{id}` does not exist in region {} or is not shared with this account: check `ami` in [cluster]",
                aws.region
            ),
        ));
    };
    let arch = image.architecture().map(|a| a.as_str()).unwrap_or("");
    if supported.is_empty() || supported.iter().any(|s| s == arch) {
        return Ok(());
    }
    Err(ProviderError::new(
        ErrorClass::InvalidInput,
        format!(
            "AMI `{id}` is built for {arch} but instance type `{instance_type}` runs {}: \
             choose an AMI for that architecture, another instance type, or leave `ami` out \
             to use the ECS-optimised image that fits the type",
            supported.join(", ")
        ),
    ))
}

/// The key pair must exist: AWS accepts a launch template naming a missing key pair and
/// then fails every launch.
async fn key_pair(aws: &Clients, name: &str) -> Result<(), ProviderError> {
    tracing::debug!(key = name, "DescribeKeyPairs");
    match aws.ec2.describe_key_pairs().key_names(name).send().await {
        Ok(out) if !out.key_pairs().is_empty() => Ok(()),
        Ok(_) => Err(missing_key(aws, name)),
        Err(e) => {
            let e = error::map(e);
            if e.class == ErrorClass::NotFound
                || e.code.as_deref() == Some("InvalidKeyPair.NotFound")
            {
                Err(missing_key(aws, name))
            } else {
                Err(error::with_context(e, "looking up the key pair"))
            }
        }
    }
}

fn missing_key(aws: &Clients, name: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::InvalidInput,
        format!(
            "key pair `{name}` does not exist in region {}: create or import it (EC2 console, \
             Key pairs; or `aws ec2 create-key-pair --key-name {name}`), or remove `key_name` \
             from [cluster] (instances need no key pair; SSH is only opened with ssh_cidrs)",
            aws.region
        ),
    )
}

/// The first `count` available zone names of the region that offer `instance_type`, in
/// name order.
async fn zones(
    aws: &Clients,
    count: usize,
    instance_type: Option<&str>,
) -> Result<Vec<String>, ProviderError> {
    tracing::debug!(count, "DescribeAvailabilityZones");
    let listed = async {
        aws.ec2
            .describe_availability_zones()
            .filters(filter("state", ["available"]))
            .send()
            .await
            .map_err(|e| error::with_context(error::map(e), "while listing the availability zones"))
    };
    let offered = async {
        match instance_type {
            Some(t) => offerings(aws, t).await.map(Some),
            None => Ok(None),
        }
    };
    let (out, offered) = tokio::join!(listed, offered);
    let (out, offered) = (out?, offered?);
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
    if let (Some(offered), Some(t)) = (offered, instance_type) {
        let all = names.clone();
        names.retain(|n| offered.contains(n));
        if names.len() < count {
            let missing: Vec<&String> = all.iter().filter(|n| !offered.contains(n)).collect();
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                format!(
                    "the stack asks for {count} availability zones but instance type `{t}` is \
                     offered in only {} of region {}'s zones ({}; not in {}): lower `azs` in \
                     [network] or choose another `instance_type`",
                    names.len(),
                    aws.region,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    },
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    pick(names, count, &aws.region)
}

/// Zones the stack names must offer its instance type, or the Auto Scaling group's
/// launches there fail (an "Unsupported" scaling activity) after apply has begun.
async fn named_zones_offer(aws: &Clients, zones: &[String], t: &str) -> Result<(), ProviderError> {
    let offered = offerings(aws, t).await?;
    let missing: Vec<&str> = zones
        .iter()
        .filter(|z| !offered.contains(z))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut elsewhere: Vec<&str> = offered.iter().map(String::as_str).collect();
    elsewhere.sort();
    Err(ProviderError::new(
        ErrorClass::InvalidInput,
        format!(
            "instance type `{t}` is not offered in {} (region {}; it is offered in {}): name \
             other zones in [network] `azs`, give a count instead, or choose another \
             `instance_type`",
            missing.join(", "),
            aws.region,
            if elsewhere.is_empty() {
                "no zone".to_string()
            } else {
                elsewhere.join(", ")
            }
        ),
    ))
}

/// The zones that offer instance type `t` (DescribeInstanceTypeOfferings).
async fn offerings(aws: &Clients, t: &str) -> Result<Vec<String>, ProviderError> {
    tracing::debug!(instance_type = t, "DescribeInstanceTypeOfferings");
    let out = aws
        .ec2
        .describe_instance_type_offerings()
        .location_type(aws_sdk_ec2::types::LocationType::AvailabilityZone)
        .filters(filter("instance-type", [t]))
        .send()
        .await
        .map_err(|e| {
            error::with_context(
                error::map(e),
                "looking up where the instance type is offered",
            )
        })?;
    Ok(out
        .instance_type_offerings()
        .iter()
        .filter_map(|o| o.location().map(str::to_string))
        .collect())
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
    fn arm64_types_get_the_arm64_image_parameter() {
        let x86 = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
        assert_eq!(
            parameter_for(x86, true),
            "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
        );
        assert_eq!(parameter_for(x86, false), x86);
        let arm = "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id";
        assert_eq!(parameter_for(arm, true), arm);
        assert_eq!(parameter_for("/my/own/image", true), "/my/own/image");
    }

    #[test]
    fn picks_the_first_in_name_order() {
        let got = pick(vec!["a".into(), "b".into(), "c".into()], 2, "r").expect("enough");
        assert_eq!(got, vec!["a".to_string(), "b".to_string()]);
    }
}
