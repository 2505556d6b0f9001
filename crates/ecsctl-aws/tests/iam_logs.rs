//! IAM roles, instance profiles and CloudWatch log groups against the moto emulator,
//! through the `Provider` methods of `AwsProvider`: create → read equals the arguments →
//! find returns the same id → tagged lists it → update in place → read shows it → delete →
//! read says gone. Each test runs in an account of its own.

mod common;
use common::{addr, attrs, Env};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Orphan, Provider};
use serde_json::{json, Value as Json};

const EC2_ROLE: &str = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role";
const SSM_CORE: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

impl Env {}

fn trust(service: &str) -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    })
}

fn logs_policy(group: &str) -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("arn:aws:logs:eu-west-2:*:log-group:{group}:*"),
        }],
    })
}

#[tokio::test]
async fn iam_role_lifecycle() {
    let env = Env::new("roles").await;
    let a = addr("iam_role.instance");
    let args = attrs(json!({
        "name": "roles-instance",
        "path": "/ecsctl/roles/",
        "assume_role_policy": trust("ec2.amazonaws.com"),
        "inline_policies": {"logs": logs_policy("/ecsctl/roles/web")},
        "managed_policy_arns": [EC2_ROLE],
        "tags": env.tags(&a, "roles-instance"),
    }));
    let created = env
        .p
        .create(&env.call(&a), &args, "tok-1")
        .await
        .expect("create");
    assert_eq!(created.id, "roles-instance");
    let arn = created.outputs["arn"].as_str().expect("arn");
    assert!(arn.ends_with(":role/ecsctl/roles/roles-instance"), "{arn}");

    let live = env.read_one(&a, &created.id, &args).await.expect("exists");
    assert_eq!(live.args, args);
    assert_eq!(live.outputs, created.outputs);

    let found = env
        .p
        .find(&env.call(&a), &args, "tok-2")
        .await
        .expect("find");
    assert_eq!(found.map(|f| f.id), Some(created.id.clone()));
    let tagged = env.p.tagged(Kind::IamRole, "roles").await.expect("tagged");
    assert_eq!(
        tagged,
        vec![Orphan {
            address: a.clone(),
            id: created.id.clone()
        }]
    );
    assert!(env
        .p
        .tagged(Kind::IamRole, "other")
        .await
        .expect("tagged")
        .is_empty());

    let mut new = args.clone();
    new["assume_role_policy"] = trust("ecs-tasks.amazonaws.com");
    new["inline_policies"] = json!({"more-logs": logs_policy("/ecsctl/roles/api")});
    new["managed_policy_arns"] = json!([SSM_CORE]);
    new["tags"]["Environment"] = json!("prod");
    let outputs = env
        .p
        .update(&env.call(&a), &created.id, &args, &new, &created.outputs)
        .await
        .expect("update");
    assert_eq!(outputs, created.outputs);
    let live = env.read_one(&a, &created.id, &new).await.expect("exists");
    assert_eq!(live.args, new);

    env.p
        .delete(&env.call(&a), &created.id, &new, &outputs)
        .await
        .expect("delete");
    assert_eq!(env.read_one(&a, &created.id, &new).await, None);
    assert_eq!(
        env.p
            .find(&env.call(&a), &new, "tok-1")
            .await
            .expect("find"),
        None
    );
    // Deleting again is success.
    env.p
        .delete(&env.call(&a), &created.id, &new, &outputs)
        .await
        .expect("delete again");
}

#[tokio::test]
async fn a_role_of_the_same_name_made_by_someone_else_is_not_adopted() {
    let env = Env::new("clash").await;
    let a = addr("iam_role.task_execution");
    let mut args = attrs(json!({
        "name": "clash-task-execution",
        "path": "/ecsctl/clash/",
        "assume_role_policy": trust("ecs-tasks.amazonaws.com"),
        "inline_policies": {},
        "managed_policy_arns": [],
        "tags": env.tags(&a, "clash-task-execution"),
    }));
    let other = addr("iam_role.instance");
    let mut theirs = args.clone();
    theirs["tags"]["ecsctl:address"] = json!(other.to_string());
    env.p
        .create(&env.call(&other), &theirs, "t1")
        .await
        .expect("create");
    assert_eq!(
        env.p.find(&env.call(&a), &args, "t2").await.expect("find"),
        None
    );
    let err = env.p.create(&env.call(&a), &args, "t2").await.unwrap_err();
    assert!(
        err.message.contains("was not made for this resource"),
        "{err}"
    );
    args["tags"]["ecsctl:address"] = json!(other.to_string());
    assert!(env
        .p
        .find(&env.call(&other), &args, "t3")
        .await
        .expect("find")
        .is_some());
}

#[tokio::test]
async fn instance_profile_lifecycle() {
    let env = Env::new("prof").await;
    let mut roles = Vec::new();
    for name in ["instance", "spare"] {
        let a = addr(&format!("iam_role.{name}"));
        let args = attrs(json!({
            "name": format!("prof-{name}"),
            "path": "/ecsctl/prof/",
            "assume_role_policy": trust("ec2.amazonaws.com"),
            "inline_policies": {},
            "managed_policy_arns": [],
            "tags": env.tags(&a, &format!("prof-{name}")),
        }));
        env.p
            .create(&env.call(&a), &args, name)
            .await
            .expect("role");
        roles.push((a, args));
    }

    let a = addr("iam_instance_profile.instance");
    let args = attrs(json!({
        "name": "prof-instance",
        "path": "/ecsctl/prof/",
        "role_name": "prof-instance",
        "tags": env.tags(&a, "prof-instance"),
    }));
    let created = env
        .p
        .create(&env.call(&a), &args, "tok")
        .await
        .expect("create");
    assert_eq!(created.id, "prof-instance");
    assert!(created.outputs["arn"]
        .as_str()
        .is_some_and(|s| s.ends_with(":instance-profile/ecsctl/prof/prof-instance")));
    let live = env.read_one(&a, &created.id, &args).await.expect("exists");
    assert_eq!(live.args, args);
    let found = env.p.find(&env.call(&a), &args, "tok").await.expect("find");
    assert_eq!(found.map(|f| f.id), Some(created.id.clone()));
    let tagged = env
        .p
        .tagged(Kind::IamInstanceProfile, "prof")
        .await
        .expect("tagged");
    assert_eq!(
        tagged,
        vec![Orphan {
            address: a.clone(),
            id: created.id.clone()
        }]
    );

    let mut new = args.clone();
    new["role_name"] = json!("prof-spare");
    new["tags"]["Team"] = json!("platform");
    env.p
        .update(&env.call(&a), &created.id, &args, &new, &created.outputs)
        .await
        .expect("update");
    let live = env.read_one(&a, &created.id, &new).await.expect("exists");
    assert_eq!(live.args, new);

    // The role is deleted while the profile still holds it: the role's delete detaches it.
    let (ra, rargs) = &roles[1];
    env.p
        .delete(&env.call(ra), "prof-spare", rargs, &Attrs::new())
        .await
        .expect("delete role");
    let live = env.read_one(&a, &created.id, &new).await.expect("exists");
    assert_eq!(live.args["role_name"], Json::Null);

    env.p
        .delete(&env.call(&a), &created.id, &new, &created.outputs)
        .await
        .expect("delete");
    assert_eq!(env.read_one(&a, &created.id, &new).await, None);
    let (ra, rargs) = &roles[0];
    env.p
        .delete(&env.call(ra), "prof-instance", rargs, &Attrs::new())
        .await
        .expect("delete role");
}

#[tokio::test]
async fn log_group_lifecycle() {
    let env = Env::new("logs").await;
    let mut groups = Vec::new();
    for (svc, days) in [("web", 7), ("api", 30)] {
        let a = addr(&format!("log_group.{svc}"));
        let name = format!("/ecsctl/logs/{svc}");
        let args = attrs(json!({
            "name": name,
            "retention_in_days": days,
            "tags": env.tags(&a, &name),
        }));
        let created = env
            .p
            .create(&env.call(&a), &args, svc)
            .await
            .expect("create");
        assert_eq!(created.id, name);
        let arn = created.outputs["arn"].as_str().expect("arn");
        assert!(arn.ends_with(&format!(":log-group:{name}")), "{arn}");
        groups.push((a, created, args));
    }
    let items: Vec<(&Address, &str, &Attrs)> = groups
        .iter()
        .map(|(a, c, args)| (a, c.id.as_str(), args))
        .collect();
    let read = env.read(Kind::LogGroup, &items).await;
    for (a, c, args) in &groups {
        let live = read[a].as_ref().expect("exists");
        assert_eq!(&live.args, args);
        assert_eq!(live.outputs, c.outputs);
    }
    let (a, created, args) = &groups[0];
    let found = env.p.find(&env.call(a), args, "web").await.expect("find");
    assert_eq!(found.map(|f| f.id), Some(created.id.clone()));
    let mut tagged = env.p.tagged(Kind::LogGroup, "logs").await.expect("tagged");
    tagged.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(
        tagged.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        vec!["/ecsctl/logs/api", "/ecsctl/logs/web"]
    );

    let mut new = args.clone();
    new["retention_in_days"] = json!(14);
    new["tags"]["Team"] = json!("platform");
    new["tags"]
        .as_object_mut()
        .expect("tags")
        .remove("Environment");
    env.p
        .update(&env.call(a), &created.id, args, &new, &created.outputs)
        .await
        .expect("update");
    assert_eq!(
        env.read_one(a, &created.id, &new)
            .await
            .expect("exists")
            .args,
        new
    );

    env.p
        .delete(&env.call(a), &created.id, &new, &created.outputs)
        .await
        .expect("delete");
    let read = env.read(Kind::LogGroup, &items).await;
    assert_eq!(read[&groups[0].0], None);
    assert!(
        read[&groups[1].0].is_some(),
        "the other group is still there"
    );
    env.p
        .delete(&env.call(a), &created.id, &new, &created.outputs)
        .await
        .expect("delete again");
}
