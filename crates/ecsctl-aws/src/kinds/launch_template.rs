//! `launch_template`: CreateLaunchTemplate (ClientToken; tags on the template and, through
//! the template data, on the instances and volumes it launches). IMDSv2 per
//! `metadata_http_tokens` with a PUT response hop limit of `metadata_hop_limit`, the root volume per `root_volume`, user data base64-encoded.
//! Update creates a new version with the new data and makes it the default; output
//! `latest_version` is that version number as a string. Read decodes the user data.

use super::ec2::{self, gone, into_attrs, no_id};
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    InstanceType, LaunchTemplate as Lt, LaunchTemplateBlockDeviceMappingRequest,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType,
    ResponseLaunchTemplateData, VolumeType,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::time::Duration;

pub struct LaunchTemplate;

/// A new instance profile takes seconds to be visible to EC2: retry a template that
/// refers to one this often, this far apart.
const PROFILE_RETRIES: u32 = 10;
const PROFILE_RETRY_WAIT: Duration = Duration::from_secs(3);

#[async_trait]
impl Handler for LaunchTemplate {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws,
            call,
            args,
            token,
            ..
        } = *req;
        let name = args::str(args, "name")?;
        let data = template_data(args)?;
        let mut attempt = 0;
        let out = loop {
            tracing::debug!(address = %call.address, name, attempt, "CreateLaunchTemplate");
            let result = aws
                .ec2
                .create_launch_template()
                .launch_template_name(name)
                .client_token(args::client_token(token, 64))
                .launch_template_data(data.clone())
                .tag_specifications(ec2::tag_spec(ResourceType::LaunchTemplate, args))
                .customize()
                .config_override(once!(aws_sdk_ec2))
                .send()
                .await
                .map_err(error::map);
            match result {
                Err(e) if profile_not_ready(&e) && attempt < PROFILE_RETRIES => {
                    attempt += 1;
                    call.progress.note(
                        call.address,
                        "waiting for the new instance profile to be visible to EC2",
                    );
                    tokio::time::sleep(PROFILE_RETRY_WAIT).await;
                }
                other => break other?,
            }
        };
        let lt = out
            .launch_template()
            .ok_or_else(|| no_id("CreateLaunchTemplate"))?;
        let id = lt
            .launch_template_id()
            .ok_or_else(|| no_id("CreateLaunchTemplate"))?;
        Ok(Created {
            id: id.to_string(),
            outputs: outputs(id, lt.latest_version_number().unwrap_or(1)),
        })
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        tracing::debug!(address = %call.address, name, "DescribeLaunchTemplates by name");
        let found = match aws
            .ec2
            .describe_launch_templates()
            .launch_template_names(name)
            .send()
            .await
        {
            Ok(out) => out.launch_templates().to_vec(),
            Err(e) => {
                let e = error::map(e);
                if gone(&e) {
                    return Ok(None);
                }
                return Err(e);
            }
        };
        Ok(found
            .iter()
            .filter(|lt| ec2::is_at(lt.tags(), call, args))
            .find_map(|lt| {
                let id = lt.launch_template_id()?;
                Some(Created {
                    id: id.to_string(),
                    outputs: outputs(id, lt.latest_version_number().unwrap_or(1)),
                })
            }))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            call,
            id,
            old,
            args: new,
            outputs: outputs_now,
            ..
        } = *req;
        let old_data = template_data(old).ok();
        let new_data = template_data(new)?;
        let mut version = outputs_now
            .get("latest_version")
            .and_then(|v| {
                v.as_str()
                    .and_then(|s| s.parse().ok())
                    .or_else(|| v.as_i64())
            })
            .unwrap_or(1);
        if old_data.as_ref() != Some(&new_data) {
            tracing::debug!(address = %call.address, id, "CreateLaunchTemplateVersion");
            let out = aws
                .ec2
                .create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(new_data)
                .send()
                .await
                .map_err(error::map)?;
            version = out
                .launch_template_version()
                .and_then(|v| v.version_number())
                .ok_or_else(|| no_id("CreateLaunchTemplateVersion"))?;
            tracing::debug!(address = %call.address, id, version, "ModifyLaunchTemplate");
            aws.ec2
                .modify_launch_template()
                .launch_template_id(id)
                .default_version(version.to_string())
                .send()
                .await
                .map_err(error::map)?;
        }
        ec2::sync_tags(&aws.ec2, id, old, new).await?;
        Ok(outputs(id, version))
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        tracing::debug!(address = %call.address, id, "DeleteLaunchTemplate");
        match aws
            .ec2
            .delete_launch_template()
            .launch_template_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = error::map(e);
                if gone(&e) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        let templates: Vec<Lt> = ec2::scan_objects(aws, set, Kind::LaunchTemplate, items).await?;
        // Versions never change once created: when the default version is the one last
        // applied, its data is the recorded one and needs no DescribeLaunchTemplateVersions.
        let recorded: HashMap<&str, &ReadItem> = items.iter().map(|i| (i.id.as_str(), i)).collect();
        let mut found = HashMap::new();
        for lt in &templates {
            let Some(id) = lt.launch_template_id() else {
                continue;
            };
            // Orphans need no version data.
            let Some(item) = recorded.get(id) else {
                continue;
            };
            let default = lt.default_version_number().or(lt.latest_version_number());
            let unchanged = Some(item).filter(|i| {
                default
                    .is_some_and(|v| i.outputs.get("latest_version") == Some(&json!(v.to_string())))
            });
            let mut args = match unchanged {
                Some(item) => item.args.clone(),
                None => match default_data(aws, lt).await? {
                    Some(data) => live_args(&data),
                    None => continue,
                },
            };
            args.insert("name".into(), json!(lt.launch_template_name()));
            args.insert("tags".into(), ec2::tags_json(lt.tags()));
            let version = lt
                .default_version_number()
                .or(lt.latest_version_number())
                .unwrap_or(1);
            found.insert(
                id.to_string(),
                Live {
                    args,
                    outputs: outputs(id, version),
                },
            );
        }
        Ok(ec2::by_address(items, &found))
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

fn outputs(id: &str, version: i64) -> Attrs {
    let mut out = ec2::id_outputs(id);
    out.insert("latest_version".into(), json!(version.to_string()));
    out
}

/// EC2 refuses a template naming an instance profile it cannot see yet.
fn profile_not_ready(e: &ProviderError) -> bool {
    e.class == ErrorClass::InvalidInput
        && e.message.to_ascii_lowercase().contains("instance profile")
        && e.message.to_ascii_lowercase().contains("invalid")
}

/// The template data from the arguments.
fn template_data(args: &Attrs) -> Result<RequestLaunchTemplateData, ProviderError> {
    let tags = ec2::tag_list(&args::tags(args));
    let root = args::object(args, "root_volume")?;
    let tokens = args::opt_str(args, "metadata_http_tokens").unwrap_or("required");
    let hops = args
        .get("metadata_hop_limit")
        .and_then(Json::as_i64)
        .unwrap_or(1) as i32;
    let ebs = LaunchTemplateEbsBlockDeviceRequest::builder()
        .volume_size(args::int(root, "size_gb")? as i32)
        .volume_type(VolumeType::from(args::str(root, "volume_type")?))
        .encrypted(args::bool(root, "encrypted")?)
        .delete_on_termination(true)
        .build();
    let spec = |rt: ResourceType| {
        LaunchTemplateTagSpecificationRequest::builder()
            .resource_type(rt)
            .set_tags(Some(tags.clone()))
            .build()
    };
    let mut data = RequestLaunchTemplateData::builder()
        .image_id(args::str(args, "image_id")?)
        .instance_type(InstanceType::from(args::str(args, "instance_type")?))
        .iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .arn(args::str(args, "iam_instance_profile_arn")?)
                .build(),
        )
        .set_security_group_ids(Some(args::strings(args, "security_group_ids")?))
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                .http_tokens(LaunchTemplateHttpTokensState::from(tokens))
                .http_put_response_hop_limit(hops)
                .build(),
        )
        .block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name(args::str(root, "device_name")?)
                .ebs(ebs)
                .build(),
        );
    if !tags.is_empty() {
        data = data
            .tag_specifications(spec(ResourceType::Instance))
            .tag_specifications(spec(ResourceType::Volume));
    }
    if let Some(u) = args::opt_str(args, "user_data").filter(|u| !u.is_empty()) {
        data = data.user_data(aws_smithy_types::base64::encode(u));
    }
    if let Some(k) = args::opt_str(args, "key_name") {
        data = data.key_name(k);
    }
    Ok(data.build())
}

/// The data of the template's default version.
async fn default_data(
    aws: &Clients,
    lt: &Lt,
) -> Result<Option<ResponseLaunchTemplateData>, ProviderError> {
    let Some(id) = lt.launch_template_id() else {
        return Ok(None);
    };
    let version = lt
        .default_version_number()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "$Default".to_string());
    tracing::debug!(id, version, "DescribeLaunchTemplateVersions");
    match aws
        .ec2
        .describe_launch_template_versions()
        .launch_template_id(id)
        .versions(version)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .launch_template_versions()
            .first()
            .and_then(|v| v.launch_template_data())
            .cloned()),
        Err(e) => {
            let e = error::map(e);
            if gone(&e) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The arguments the data corresponds to (without `name` and `tags`).
fn live_args(d: &ResponseLaunchTemplateData) -> Attrs {
    let user_data = d.user_data().map(|u| {
        aws_smithy_types::base64::decode(u)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|_| u.to_string())
    });
    let mut groups: Vec<String> = d.security_group_ids().to_vec();
    groups.sort();
    let root = d.block_device_mappings().first().map(|m| {
        let ebs = m.ebs();
        json!({
            "device_name": m.device_name(),
            "size_gb": ebs.and_then(|e| e.volume_size()),
            "volume_type": ebs.and_then(|e| e.volume_type()).map(|t| t.as_str()),
            "encrypted": ebs.and_then(|e| e.encrypted()).unwrap_or(false),
        })
    });
    into_attrs(json!({
        "image_id": d.image_id(),
        "instance_type": d.instance_type().map(|t| t.as_str()),
        "iam_instance_profile_arn": d.iam_instance_profile().and_then(|p| p.arn()),
        "security_group_ids": groups,
        "user_data": user_data,
        "key_name": d.key_name(),
        "metadata_http_tokens": d
            .metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str()),
        "metadata_hop_limit": d
            .metadata_options()
            .and_then(|m| m.http_put_response_hop_limit()),
        "root_volume": root.unwrap_or(Json::Null),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Attrs {
        into_attrs(json!({
            "name": "hello-instances",
            "image_id": "ami-123",
            "instance_type": "t3.small",
            "iam_instance_profile_arn": "arn:aws:iam::123456789012:instance-profile/hello-instance",
            "security_group_ids": ["sg-1"],
            "user_data": "#!/bin/bash\necho ECS_CLUSTER=hello >> /etc/ecs/ecs.config\n",
            "key_name": null,
            "metadata_http_tokens": "required",
            "metadata_hop_limit": 1,
            "root_volume": {"device_name": "/dev/xvda", "size_gb": 30, "volume_type": "gp3", "encrypted": true},
            "tags": {"Name": "hello-instances", "ecsctl:stack": "hello"},
        }))
    }

    #[test]
    fn data_requires_imdsv2_encrypts_and_tags_instances_and_volumes() {
        let d = template_data(&args()).expect("data");
        assert_eq!(
            d.metadata_options().and_then(|m| m.http_tokens()),
            Some(&LaunchTemplateHttpTokensState::Required)
        );
        // Bridge-mode containers are a hop away: they must not reach the instance role.
        assert_eq!(
            d.metadata_options()
                .and_then(|m| m.http_put_response_hop_limit()),
            Some(1)
        );
        let ebs = d.block_device_mappings()[0].ebs().expect("ebs");
        assert_eq!(ebs.encrypted(), Some(true));
        assert_eq!(ebs.volume_size(), Some(30));
        let kinds: Vec<_> = d
            .tag_specifications()
            .iter()
            .filter_map(|s| s.resource_type().cloned())
            .collect();
        assert_eq!(kinds, vec![ResourceType::Instance, ResourceType::Volume]);
        assert_eq!(d.key_name(), None);
        let decoded =
            aws_smithy_types::base64::decode(d.user_data().expect("user data")).expect("base64");
        assert!(String::from_utf8(decoded)
            .expect("utf8")
            .contains("ECS_CLUSTER=hello"));
    }

    #[test]
    fn a_missing_root_volume_names_the_argument() {
        let mut a = args();
        a.remove("root_volume");
        let e = template_data(&a).unwrap_err();
        assert!(e.message.contains("root_volume"), "{}", e.message);
    }
}
