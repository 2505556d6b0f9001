//! ECS clusters, task definitions and services against the moto emulator, through the
//! `Provider` methods of `AwsProvider`. The service's load balancer prerequisites (VPC,
//! subnets, ALB, target group, listener) are made with plain SDK calls. Moto runs no tasks,
//! so services are created with `wait_for_services` off (the waiter is tested with mocks).

mod common;
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};
use common::{addr, attrs, Env};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Created, ErrorClass, Orphan, Provider};
use serde_json::json;

impl Env {
    async fn cluster(&self) -> (Address, Attrs, Created) {
        let a = addr("ecs_cluster.main");
        let args = attrs(json!({
            "name": self.stack,
            "container_insights": true,
            "tags": self.tags(&a, &self.stack),
        }));
        let created = self
            .p
            .create(&self.call(&a), &args, "cluster")
            .await
            .expect("create cluster");
        (a, args, created)
    }

    fn task_args(&self, a: &Address, image: &str) -> Attrs {
        let family = format!("{}-web", self.stack);
        attrs(json!({
            "family": family,
            "execution_role_arn": "arn:aws:iam::123456789012:role/ecsctl/s/s-task-execution",
            "task_role_arn": null,
            "network_mode": "bridge",
            "requires_compatibilities": ["EC2"],
            "container_definitions": [{
                "name": "web",
                "image": image,
                "command": ["python", "-m", "http.server", "5000"],
                "cpu": 256,
                "memory": 512,
                "essential": true,
                "port_mappings": [{"container_port": 5000, "host_port": 0, "protocol": "tcp"}],
                "environment": [{"name": "A", "value": "1"}, {"name": "GREETING", "value": "hi"}],
                "log_configuration": {
                    "log_driver": "awslogs",
                    "options": {
                        "awslogs-group": format!("/ecsctl/{}/web", self.stack),
                        "awslogs-region": "eu-west-2",
                        "awslogs-stream-prefix": "web",
                    },
                },
            }],
            "tags": self.tags(a, &family),
        }))
    }

    /// A target group with a listener on a fresh ALB, made with plain SDK calls.
    async fn target_group(&self) -> String {
        let aws = &self.p.clients;
        let vpc = aws
            .ec2
            .create_vpc()
            .cidr_block("10.1.0.0/16")
            .send()
            .await
            .expect("vpc");
        let vpc = vpc
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_string();
        let mut subnets = Vec::new();
        for (i, az) in ["eu-west-2a", "eu-west-2b"].iter().enumerate() {
            let s = aws
                .ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("10.1.{i}.0/24"))
                .availability_zone(*az)
                .send()
                .await
                .expect("subnet");
            subnets.push(
                s.subnet()
                    .and_then(|s| s.subnet_id())
                    .expect("id")
                    .to_string(),
            );
        }
        let lb = aws
            .elbv2
            .create_load_balancer()
            .name(format!("{}-alb", self.stack))
            .set_subnets(Some(subnets))
            .send()
            .await
            .expect("alb");
        let lb = lb.load_balancers()[0]
            .load_balancer_arn()
            .expect("arn")
            .to_string();
        let tg = aws
            .elbv2
            .create_target_group()
            .name(format!("{}-web", self.stack))
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id(&vpc)
            .send()
            .await
            .expect("target group");
        let tg = tg.target_groups()[0]
            .target_group_arn()
            .expect("arn")
            .to_string();
        aws.elbv2
            .create_listener()
            .load_balancer_arn(lb)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&tg)
                    .build(),
            )
            .send()
            .await
            .expect("listener");
        tg
    }
}

#[tokio::test]
async fn ecs_cluster_lifecycle() {
    let env = Env::new("clu").await.no_wait();
    let (a, args, created) = env.cluster().await;
    assert!(created.id.starts_with("arn:aws:ecs:"), "{}", created.id);
    assert_eq!(created.outputs["arn"], json!(created.id));
    let live = env.read_one(&a, &created.id, &args).await.expect("exists");
    assert_eq!(live.args, args);
    let found = env.p.find(&env.call(&a), &args, "x").await.expect("find");
    assert_eq!(found.map(|f| f.id), Some(created.id.clone()));
    let tagged = env.p.tagged(Kind::EcsCluster, "clu").await.expect("tagged");
    assert_eq!(
        tagged,
        vec![Orphan {
            address: a.clone(),
            id: created.id.clone()
        }]
    );

    let mut new = args.clone();
    new["container_insights"] = json!(false);
    new["tags"]["Environment"] = json!("prod");
    env.p
        .update(&env.call(&a), &created.id, &args, &new, &created.outputs)
        .await
        .expect("update");
    assert_eq!(
        env.read_one(&a, &created.id, &new)
            .await
            .expect("exists")
            .args,
        new
    );

    env.p
        .delete(&env.call(&a), &created.id, &new, &created.outputs)
        .await
        .expect("delete");
    assert_eq!(env.read_one(&a, &created.id, &new).await, None);
    env.p
        .delete(&env.call(&a), &created.id, &new, &created.outputs)
        .await
        .expect("delete again");
}

#[tokio::test]
async fn task_definition_lifecycle() {
    let env = Env::new("tdef").await.no_wait();
    let a = addr("task_definition.web");
    let args = env.task_args(&a, "nginx:1");
    let first = env
        .p
        .create(&env.call(&a), &args, "intent-1")
        .await
        .expect("create");
    assert!(
        first.id.contains(":task-definition/tdef-web:"),
        "{}",
        first.id
    );
    assert_eq!(first.outputs["revision"], json!(1));
    let live = env.read_one(&a, &first.id, &args).await.expect("exists");
    assert_eq!(live.args, args);
    assert_eq!(live.outputs, first.outputs);

    // Any change is a new revision, made before the old one goes.
    let new = env.task_args(&a, "nginx:2");
    let second = env
        .p
        .create(&env.call(&a), &new, "intent-2")
        .await
        .expect("create");
    assert_eq!(second.outputs["revision"], json!(2));
    let err = env
        .p
        .update(&env.call(&a), &first.id, &args, &new, &first.outputs)
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput);

    // find adopts the revision of the intent that made it, not just any of the family.
    let found = env
        .p
        .find(&env.call(&a), &args, "intent-1")
        .await
        .expect("find");
    assert_eq!(found.map(|f| f.id), Some(first.id.clone()));
    let found = env
        .p
        .find(&env.call(&a), &new, "intent-2")
        .await
        .expect("find");
    assert_eq!(found.map(|f| f.id), Some(second.id.clone()));
    assert_eq!(
        env.p
            .find(&env.call(&a), &new, "intent-3")
            .await
            .expect("find"),
        None
    );
    let mut tagged = env
        .p
        .tagged(Kind::TaskDefinition, "tdef")
        .await
        .expect("tagged");
    tagged.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(
        tagged,
        vec![
            Orphan {
                address: a.clone(),
                id: first.id.clone()
            },
            Orphan {
                address: a.clone(),
                id: second.id.clone()
            },
        ]
    );

    env.p
        .delete(&env.call(&a), &first.id, &args, &first.outputs)
        .await
        .expect("delete");
    let read = env
        .read(Kind::TaskDefinition, &[(&a, &first.id, &args)])
        .await;
    assert_eq!(read[&a], None);
    assert!(env.read_one(&a, &second.id, &new).await.is_some());
    env.p
        .delete(&env.call(&a), &first.id, &args, &first.outputs)
        .await
        .expect("delete again");
}

#[tokio::test]
async fn ecs_service_lifecycle() {
    let env = Env::new("svc").await.no_wait();
    let (_, _, cluster) = env.cluster().await;
    let ta = addr("task_definition.web");
    let td = env
        .p
        .create(&env.call(&ta), &env.task_args(&ta, "nginx:1"), "td-1")
        .await
        .expect("task definition");
    let td2 = env
        .p
        .create(&env.call(&ta), &env.task_args(&ta, "nginx:2"), "td-2")
        .await
        .expect("task definition");
    let tg = env.target_group().await;

    let a = addr("ecs_service.web");
    let args = attrs(json!({
        "name": "web",
        "cluster": cluster.id,
        "task_definition": td.id,
        "desired_count": 2,
        "launch_type": "EC2",
        "load_balancers": [{"target_group_arn": tg, "container_name": "web", "container_port": 5000}],
        "deployment": {
            "minimum_healthy_percent": 50,
            "maximum_percent": 200,
            "circuit_breaker": {"enable": true, "rollback": true},
        },
        "health_check_grace_period": 30,
        "placement_strategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "tags": env.tags(&a, "web"),
    }));
    let created = env
        .p
        .create(&env.call(&a), &args, "svc-1")
        .await
        .expect("create");
    assert!(created.id.contains(":service/"), "{}", created.id);

    // Moto drops the deployment configuration, grace period and placement on
    // CreateService: those read back as whatever it says (null / empty), never invented.
    let live = env.read_one(&a, &created.id, &args).await.expect("exists");
    for key in [
        "name",
        "cluster",
        "task_definition",
        "desired_count",
        "launch_type",
        "load_balancers",
        "tags",
    ] {
        assert_eq!(live.args[key], args[key], "{key}");
    }
    for key in [
        "deployment",
        "health_check_grace_period",
        "placement_strategy",
    ] {
        let v = &live.args[key];
        assert!(
            *v == args[key] || v.is_null() || *v == json!([]),
            "{key}: {v} is neither what was asked nor absent"
        );
    }
    assert_eq!(live.outputs, created.outputs);

    let found = env
        .p
        .find(&env.call(&a), &args, "svc-1")
        .await
        .expect("find");
    assert_eq!(found.map(|f| f.id), Some(created.id.clone()));
    let tagged = env.p.tagged(Kind::EcsService, "svc").await.expect("tagged");
    assert_eq!(
        tagged,
        vec![Orphan {
            address: a.clone(),
            id: created.id.clone()
        }]
    );

    let mut new = args.clone();
    new["task_definition"] = json!(td2.id);
    new["desired_count"] = json!(3);
    new["deployment"]["minimum_healthy_percent"] = json!(100);
    new["health_check_grace_period"] = json!(60);
    new["placement_strategy"] = json!([{"type": "binpack", "field": "memory"}]);
    new["tags"]["Environment"] = json!("prod");
    env.p
        .update(&env.call(&a), &created.id, &args, &new, &created.outputs)
        .await
        .expect("update");
    let live = env.read_one(&a, &created.id, &new).await.expect("exists");
    assert_eq!(live.args, new);

    env.p
        .delete(&env.call(&a), &created.id, &new, &created.outputs)
        .await
        .expect("delete");
    assert_eq!(env.read_one(&a, &created.id, &new).await, None);
    env.p
        .delete(&env.call(&a), &created.id, &new, &created.outputs)
        .await
        .expect("delete again");
}
