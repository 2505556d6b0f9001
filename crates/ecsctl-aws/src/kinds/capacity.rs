//! Waiting for an Auto Scaling group's capacity, after the group is created or its minimum
//! raised: `min_size` instances InService and, when the group names the ECS cluster its
//! instances join, as many of them registered ACTIVE in that cluster.
//!
//! Without it an apply reports success while no instance can run a task: a launch that
//! AWS refuses (no capacity for the type in the zone, a type the zone does not offer, a KMS
//! key the group may not use) only shows in the group's scaling activities, and an instance
//! that cannot reach ECS never registers. Each failed activity's status message is shown as
//! it appears; when launches keep failing and no instance ever came up the wait stops early
//! and names them (DescribeScalingActivities API reference: StatusCode `Failed`,
//! StatusMessage; terraform-provider-aws waits for capacity the same way and reports the
//! activities on failure).

use crate::wait::{self, Poll};
use crate::{error, Clients};
use aws_sdk_autoscaling::types::{LifecycleState, ScalingActivityStatusCode};
use aws_sdk_ecs::types::ContainerInstanceStatus;
use ecsctl_provider::{Call, ErrorClass, ProviderError};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

const POLL: Duration = Duration::from_secs(10);
/// Failed launches, with no instance in service, after which waiting longer is pointless.
const FAILED_LAUNCHES: usize = 3;
/// How many failed activities' messages an error names.
const SHOWN_FAILURES: usize = 3;
/// DescribeContainerInstances takes at most 100 container instances.
const DESCRIBE_BATCH: usize = 100;
/// Activities that started this long before the wait are another change's.
const SLACK_SECS: i64 = 60;

#[derive(Default)]
struct Seen {
    activities: HashSet<String>,
    /// Failed activities' messages, oldest first.
    failures: Vec<String>,
}

/// Wait until `min` instances of `group` are InService and, with a `cluster`, registered in
/// it and ACTIVE. Fails early when launches keep failing, at the deadline otherwise; both
/// errors name the failed scaling activities.
pub(crate) async fn wait(
    aws: &Clients,
    call: &Call<'_>,
    group: &str,
    min: i32,
    cluster: Option<&str>,
) -> Result<(), ProviderError> {
    let Ok(min) = usize::try_from(min) else {
        return Ok(());
    };
    if min == 0 {
        return Ok(());
    }
    let since = wait::now_epoch_secs() - SLACK_SECS;
    let seen = Mutex::new(Seen::default());
    let seen = &seen;
    let waited = wait::until(call, POLL, move || async move {
        poll(aws, call, group, min, cluster, since, seen).await
    })
    .await;
    waited.map_err(|mut e| {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        if e.class == ErrorClass::Timeout && !seen.failures.is_empty() {
            e.message.push_str(&format!(
                "; failed scaling activities: {}",
                last(&seen.failures)
            ));
        }
        e
    })
}

fn last(failures: &[String]) -> String {
    let n = failures.len();
    failures[n.saturating_sub(SHOWN_FAILURES)..].join(" | ")
}

async fn poll(
    aws: &Clients,
    call: &Call<'_>,
    group: &str,
    min: usize,
    cluster: Option<&str>,
    since: i64,
    seen: &Mutex<Seen>,
) -> Result<Poll<()>, ProviderError> {
    tracing::debug!(group, "autoscaling DescribeAutoScalingGroups (capacity)");
    let out = aws
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .map_err(error::map)?;
    let Some(g) = out.auto_scaling_groups().first() else {
        return Err(ProviderError::new(
            ErrorClass::NotFound,
            format!("auto scaling group {group} disappeared while waiting for its instances"),
        ));
    };
    let in_service: Vec<&str> = g
        .instances()
        .iter()
        .filter(|i| i.lifecycle_state() == Some(&LifecycleState::InService))
        .filter_map(|i| i.instance_id())
        .collect();
    failed_activities(aws, call, group, since, seen).await?;
    if in_service.is_empty() {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.failures.len() >= FAILED_LAUNCHES {
            return Err(ProviderError::new(
                ErrorClass::Other,
                format!(
                    "auto scaling group {group} cannot launch instances ({} failed scaling \
                     activities, none in service): {}",
                    seen.failures.len(),
                    last(&seen.failures)
                ),
            ));
        }
    }
    if in_service.len() < min {
        return Ok(Poll::Pending(format!(
            "waiting for {min} instance(s) of auto scaling group {group} to be in service ({} \
             so far)",
            in_service.len()
        )));
    }
    let Some(cluster) = cluster else {
        return Ok(Poll::Done(()));
    };
    let registered = registered(aws, cluster).await?;
    let joined = in_service
        .iter()
        .filter(|id| registered.contains(**id))
        .count();
    if joined < min {
        return Ok(Poll::Pending(format!(
            "waiting for the instances of auto scaling group {group} to join ECS cluster \
             {cluster} ({joined}/{min} registered; an instance that never does usually cannot \
             reach ECS through the NAT, or its role lacks the agent's permissions)"
        )));
    }
    Ok(Poll::Done(()))
}

/// Show each new failed or cancelled scaling activity of `group` (started after `since`).
async fn failed_activities(
    aws: &Clients,
    call: &Call<'_>,
    group: &str,
    since: i64,
    seen: &Mutex<Seen>,
) -> Result<(), ProviderError> {
    tracing::debug!(group, "autoscaling DescribeScalingActivities");
    let out = aws
        .autoscaling
        .describe_scaling_activities()
        .auto_scaling_group_name(group)
        .max_records(20)
        .send()
        .await
        .map_err(error::map)?;
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    // Newest first: note them oldest first.
    for a in out.activities().iter().rev() {
        let failed = matches!(
            a.status_code(),
            Some(ScalingActivityStatusCode::Failed | ScalingActivityStatusCode::Cancelled)
        );
        let recent = a.start_time().is_some_and(|t| t.secs() >= since);
        let Some(id) = a.activity_id() else { continue };
        if !failed || !recent || !seen.activities.insert(id.to_string()) {
            continue;
        }
        let message = a
            .status_message()
            .or(a.description())
            .unwrap_or("no status message")
            .to_string();
        call.progress
            .note(call.address, &format!("scaling activity failed: {message}"));
        seen.failures.push(message);
    }
    Ok(())
}

/// The EC2 instance ids of the cluster's ACTIVE container instances.
async fn registered(aws: &Clients, cluster: &str) -> Result<HashSet<String>, ProviderError> {
    let arns = super::ecs_cluster::container_instances(
        aws,
        cluster,
        Some(ContainerInstanceStatus::Active),
    )
    .await?;
    let mut out = HashSet::new();
    for chunk in arns.chunks(DESCRIBE_BATCH) {
        tracing::debug!(
            cluster,
            count = chunk.len(),
            "ecs DescribeContainerInstances"
        );
        let described = aws
            .ecs
            .describe_container_instances()
            .cluster(cluster)
            .set_container_instances(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(error::map)?;
        out.extend(
            described
                .container_instances()
                .iter()
                .filter_map(|c| c.ec2_instance_id())
                .map(str::to_string),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::ecs_service::test_support::{mock_clients, Notes};
    use super::*;
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling::operation::describe_scaling_activities::DescribeScalingActivitiesOutput;
    use aws_sdk_autoscaling::primitives::DateTime;
    use aws_sdk_autoscaling::types::{Activity, AutoScalingGroup, Instance};
    use aws_sdk_ecs::operation::describe_container_instances::DescribeContainerInstancesOutput;
    use aws_sdk_ecs::operation::list_container_instances::ListContainerInstancesOutput;
    use aws_sdk_ecs::types::ContainerInstance;
    use aws_smithy_mocks::{mock, Rule};
    use ecsctl_graph::{Address, Kind};
    use ecsctl_provider::Options;
    use std::time::SystemTime;

    const GROUP: &str = "demo-instances";

    fn group(instances: &[(&str, LifecycleState)]) -> DescribeAutoScalingGroupsOutput {
        let mut g = AutoScalingGroup::builder().auto_scaling_group_name(GROUP);
        for (id, state) in instances {
            g = g.instances(
                Instance::builder()
                    .instance_id(*id)
                    .lifecycle_state(state.clone())
                    .build(),
            );
        }
        DescribeAutoScalingGroupsOutput::builder()
            .auto_scaling_groups(g.build())
            .build()
    }

    fn failed(id: &str, message: &str) -> Activity {
        Activity::builder()
            .activity_id(id)
            .auto_scaling_group_name(GROUP)
            .status_code(ScalingActivityStatusCode::Failed)
            .status_message(message)
            .start_time(DateTime::from(SystemTime::now()))
            .build()
    }

    fn activities(list: Vec<Activity>) -> Rule {
        mock!(aws_sdk_autoscaling::Client::describe_scaling_activities).then_output(move || {
            DescribeScalingActivitiesOutput::builder()
                .set_activities(Some(list.clone()))
                .build()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_instances_in_service_then_registered() {
        let groups = mock!(aws_sdk_autoscaling::Client::describe_auto_scaling_groups)
            .sequence()
            .output(|| group(&[("i-1", LifecycleState::Pending)]))
            .output(|| group(&[("i-1", LifecycleState::InService)]))
            .repeatedly()
            .build();
        let none = activities(vec![]);
        let listed = mock!(aws_sdk_ecs::Client::list_container_instances)
            .sequence()
            .output(|| ListContainerInstancesOutput::builder().build())
            .output(|| {
                ListContainerInstancesOutput::builder()
                    .container_instance_arns("arn:aws:ecs:eu-west-2:1:container-instance/demo/c1")
                    .build()
            })
            .build();
        let described =
            mock!(aws_sdk_ecs::Client::describe_container_instances).then_output(|| {
                DescribeContainerInstancesOutput::builder()
                    .container_instances(
                        ContainerInstance::builder().ec2_instance_id("i-1").build(),
                    )
                    .build()
            });
        let aws = mock_clients(&[&groups, &none, &listed, &described]).await;
        let address = Address::new(Kind::AutoscalingGroup, "instances");
        let notes = Notes::default();
        let options = Options::bounded(true, Duration::from_secs(600));
        let call = Call {
            address: &address,
            progress: &notes,
            options: &options,
        };
        wait(&aws, &call, GROUP, 1, Some("demo")).await.unwrap();
        assert_eq!(groups.num_calls(), 3);
        assert_eq!(listed.num_calls(), 2);
        let notes = notes.all();
        assert!(
            notes[0].contains("to be in service (0 so far)"),
            "{notes:?}"
        );
        assert!(notes[1].contains("join ECS cluster demo (0/1"), "{notes:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn launches_that_keep_failing_stop_the_wait_naming_why() {
        let message = "We currently do not have sufficient m7g.large capacity in the \
                       Availability Zone you requested (eu-west-2a).";
        let groups = mock!(aws_sdk_autoscaling::Client::describe_auto_scaling_groups)
            .then_output(|| group(&[]));
        let acts = activities(vec![
            failed("a3", message),
            failed("a2", message),
            failed(
                "a1",
                "Launching a new EC2 instance. Status Reason: The requested \
                           configuration is currently not supported.",
            ),
        ]);
        let aws = mock_clients(&[&groups, &acts]).await;
        let address = Address::new(Kind::AutoscalingGroup, "instances");
        let notes = Notes::default();
        let options = Options::bounded(true, Duration::from_secs(600));
        let call = Call {
            address: &address,
            progress: &notes,
            options: &options,
        };
        let err = wait(&aws, &call, GROUP, 2, Some("demo")).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Other);
        assert!(
            err.message.contains("sufficient m7g.large capacity"),
            "{err}"
        );
        assert!(err.message.contains("3 failed scaling activities"), "{err}");
        assert_eq!(groups.num_calls(), 1);
        assert_eq!(notes.all().len(), 3, "each failed activity shown once");
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_names_the_failed_activities() {
        let groups = mock!(aws_sdk_autoscaling::Client::describe_auto_scaling_groups)
            .then_output(|| group(&[("i-1", LifecycleState::InService)]));
        let acts = activities(vec![failed(
            "a1",
            "Client.InternalError: KMS key is disabled",
        )]);
        let aws = mock_clients(&[&groups, &acts]).await;
        let address = Address::new(Kind::AutoscalingGroup, "instances");
        let options = Options::bounded(true, Duration::from_secs(30));
        let call = Call {
            address: &address,
            progress: &ecsctl_provider::Quiet,
            options: &options,
        };
        let err = wait(&aws, &call, GROUP, 2, None).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Timeout);
        assert!(err.message.contains("(1 so far)"), "{err}");
        assert!(err.message.contains("KMS key is disabled"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_minimum_means_no_wait() {
        let aws = mock_clients(&[]).await;
        let address = Address::new(Kind::AutoscalingGroup, "instances");
        let options = Options::default();
        let call = Call {
            address: &address,
            progress: &ecsctl_provider::Quiet,
            options: &options,
        };
        wait(&aws, &call, GROUP, 0, Some("demo")).await.unwrap();
    }
}
