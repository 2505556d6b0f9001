//! The executor against the in-memory provider: ordering, bounds, failures, retries,
//! replaces, interrupts, crash recovery, saves, refresh.

mod common;

use common::*;
use ecsctl_engine::memory::{Method, Target};
use ecsctl_engine::{refresh, ApplyOptions, Op};
use ecsctl_graph::Kind;
use ecsctl_plan::Action;
use ecsctl_provider::ErrorClass;
use ecsctl_state::{Deposed, Pending, State};
use serde_json::json;
use std::time::Duration;

const SEC: Duration = Duration::from_secs(1);

/// vpc.main <- subnet.a, subnet.b <- route_table.main
fn network() -> Vec<ecsctl_plan::Change> {
    vec![
        create("vpc.main", &[("cidr_block", s("10.0.0.0/16"))]),
        create(
            "subnet.a",
            &[
                ("vpc_id", r("vpc.main", "id")),
                ("cidr_block", s("10.0.0.0/24")),
            ],
        ),
        create(
            "subnet.b",
            &[
                ("vpc_id", r("vpc.main", "id")),
                ("cidr_block", s("10.0.1.0/24")),
            ],
        ),
        create(
            "route_table.main",
            &[
                ("vpc_id", r("vpc.main", "id")),
                (
                    "subnet_ids",
                    ecsctl_graph::Value::list([r("subnet.a", "id"), r("subnet.b", "id")]),
                ),
            ],
        ),
    ]
}

#[tokio::test(start_paused = true)]
async fn creates_run_in_dependency_order_and_independent_ones_overlap() {
    let mut run = Run::default();
    run.provider.delay(Target::Any, Method::Create, SEC);
    let out = run.apply(&plan(network()), State::new("t")).await;
    assert!(out.is_success(), "{out:?}");

    let vpc = run.call(Method::Create, "vpc.main");
    let a = run.call(Method::Create, "subnet.a");
    let b = run.call(Method::Create, "subnet.b");
    let rt = run.call(Method::Create, "route_table.main");
    assert!(a.start >= end(&vpc) && b.start >= end(&vpc));
    assert!(
        a.start < end(&b) && b.start < end(&a),
        "the subnets overlap"
    );
    assert!(rt.start >= end(&a) && rt.start >= end(&b));
    assert_eq!(
        end(&rt) - vpc.start,
        3 * SEC,
        "three levels, no wasted time"
    );

    let st = &out.state;
    let vpc_id = st.resources[&addr("vpc.main")].id.clone();
    assert_eq!(vpc_id, "vpc-000001");
    assert_eq!(
        st.resources[&addr("subnet.a")].args["vpc_id"],
        json!(vpc_id)
    );
    assert_eq!(
        st.resources[&addr("route_table.main")].args["subnet_ids"],
        json!([
            st.resources[&addr("subnet.a")].id,
            st.resources[&addr("subnet.b")].id
        ])
    );
    assert_eq!(
        st.resources[&addr("route_table.main")].deps,
        vec![addr("vpc.main"), addr("subnet.a"), addr("subnet.b")]
    );
    assert!(st.pending.is_empty());
    assert_eq!(run.store.last(), out.state);
}

#[tokio::test(start_paused = true)]
async fn parallelism_and_per_api_bounds_are_never_exceeded() {
    let mut run = Run {
        opts: ApplyOptions {
            parallelism: 5,
            per_api: 3,
            ..ApplyOptions::default()
        },
        ..Run::default()
    };
    run.provider.delay(Target::Any, Method::Create, SEC);
    let mut changes = Vec::new();
    for i in 0..12 {
        changes.push(create(&format!("subnet.s{i}"), &[]));
    }
    for i in 0..6 {
        changes.push(create(&format!("iam_role.r{i}"), &[]));
        changes.push(create(&format!("log_group.l{i}"), &[]));
    }
    let out = run.apply(&plan(changes), State::new("t")).await;
    assert!(out.is_success(), "{out:?}");
    assert_eq!(out.completed.len(), 24);

    let calls = run.provider.calls();
    let of_api = |api: &str| -> Vec<_> { calls.iter().filter(|c| c.api == api).cloned().collect() };
    assert_eq!(
        max_overlap(&calls),
        5,
        "the parallelism bound is reached, not exceeded"
    );
    for api in ["ec2", "iam", "logs"] {
        assert!(max_overlap(&of_api(api)) <= 3, "{api}");
    }
    assert_eq!(max_overlap(&of_api("ec2")), 3);
    assert_eq!(run.provider.max_total_concurrency(), 5);
    assert_eq!(run.provider.max_concurrency("ec2"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_failure_skips_exactly_its_dependents_and_the_rest_completes() {
    let mut run = Run::default();
    run.provider.fail(
        Target::Address(addr("subnet.a")),
        Method::Create,
        ErrorClass::InvalidInput,
        1,
    );
    let mut changes = network();
    changes.push(create(
        "route_table.b",
        &[(
            "subnet_ids",
            ecsctl_graph::Value::list([r("subnet.b", "id")]),
        )],
    ));
    changes.push(create("iam_role.task", &[]));
    let out = run.apply(&plan(changes), State::new("t")).await;

    assert_eq!(out.failed.len(), 1);
    assert_eq!(out.failed[0].0, addr("subnet.a"));
    assert_eq!(out.failed[0].1.class, ErrorClass::InvalidInput);
    assert_eq!(
        out.skipped
            .iter()
            .map(|(a, _)| a.to_string())
            .collect::<Vec<_>>(),
        vec!["route_table.main"]
    );
    assert!(
        out.skipped[0].1.contains("subnet.a"),
        "{}",
        out.skipped[0].1
    );
    assert_eq!(
        completed(&out),
        set(&["vpc.main", "subnet.b", "route_table.b", "iam_role.task"])
    );
    let saved = run.store.last();
    assert_eq!(
        addresses(saved.resources.keys()),
        set(&["vpc.main", "subnet.b", "route_table.b", "iam_role.task"])
    );
    assert!(
        saved.pending.is_empty(),
        "a refused create leaves no intent"
    );
    assert_eq!(run.provider.objects().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn destroy_deletes_a_resource_only_after_everything_that_referenced_it() {
    let mut run = Run::default();
    let mut changes = network();
    changes.push(create(
        "internet_gateway.main",
        &[("vpc_id", r("vpc.main", "id"))],
    ));
    let state = run.apply(&plan(changes), State::new("t")).await.state;
    assert_eq!(run.provider.objects().len(), 5);

    run.provider.delay(Target::Any, Method::Delete, SEC);
    let out = run.apply(&destroy_all(&state), state.clone()).await;
    assert!(out.is_success(), "{out:?}");
    assert!(run.provider.objects().is_empty());
    assert!(out.state.resources.is_empty());

    for (a, res) in &state.resources {
        let mine = run.call(Method::Delete, &a.to_string());
        assert!(mine.ok, "{a}: no delete was refused");
        for dep in &res.deps {
            let theirs = run.call(Method::Delete, &dep.to_string());
            assert!(
                theirs.start >= end(&mine),
                "{dep} deleted before its dependent {a}"
            );
        }
    }
    // Independent deletes overlap: the gateway goes with the route table, both subnets
    // together after it.
    let rt = run.call(Method::Delete, "route_table.main");
    let igw = run.call(Method::Delete, "internet_gateway.main");
    assert_eq!(rt.start, igw.start);
    let a = run.call(Method::Delete, "subnet.a");
    let b = run.call(Method::Delete, "subnet.b");
    assert_eq!(a.start, b.start);
}

#[tokio::test(start_paused = true)]
async fn a_dependency_violation_on_delete_is_retried_until_it_clears() {
    let mut run = Run::default();
    let state = run
        .apply(
            &plan(vec![create("security_group.alb", &[])]),
            State::new("t"),
        )
        .await
        .state;
    run.provider.fail(
        Target::Address(addr("security_group.alb")),
        Method::Delete,
        ErrorClass::DependencyViolation,
        2,
    );
    let start = tokio::time::Instant::now();
    let out = run.apply(&destroy_all(&state), state).await;
    assert!(out.is_success(), "{out:?}");
    let deletes = run.calls(Method::Delete, "security_group.alb");
    assert_eq!(deletes.len(), 3);
    assert_eq!(deletes.iter().filter(|c| c.ok).count(), 1);
    // Backoff 2s then 4s, each jittered to between half and all of it.
    let waited = deletes[2].start - start;
    assert!(
        waited >= Duration::from_secs(3) && waited <= Duration::from_secs(6),
        "{waited:?}"
    );
    assert!(run.provider.objects().is_empty());
    let notes = run.events.0.lock().unwrap().clone();
    assert!(
        notes.iter().any(|e| e.contains("still in use, retrying")),
        "{notes:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dependency_violation_that_never_clears_fails_naming_the_holder() {
    let mut run = Run::default();
    run.opts.provider.dependency_timeout = Duration::from_secs(60);
    let state = run
        .apply(&plan(vec![create("vpc.main", &[])]), State::new("t"))
        .await
        .state;
    let vpc_id = state.resources[&addr("vpc.main")].id.clone();
    // Something outside the stack uses the VPC.
    let eni = run.provider.insert(
        &addr("subnet.outsider"),
        json!({"vpc_id": vpc_id}).as_object().unwrap().clone(),
    );
    let start = tokio::time::Instant::now();
    let out = run.apply(&destroy_all(&state), state).await;
    assert_eq!(out.failed.len(), 1);
    let err = &out.failed[0].1;
    assert_eq!(err.class, ErrorClass::DependencyViolation);
    assert!(err.message.contains(&eni.id), "{err}");
    assert!(
        err.message.contains("still in use after retrying for 60s"),
        "{err}"
    );
    let elapsed = tokio::time::Instant::now() - start;
    assert!(
        elapsed >= Duration::from_secs(60) && elapsed < Duration::from_secs(61),
        "{elapsed:?}"
    );
    assert!(
        out.state.resources.contains_key(&addr("vpc.main")),
        "still recorded"
    );
}

#[tokio::test(start_paused = true)]
async fn create_before_destroy_creates_new_moves_dependents_then_deletes_old() {
    let mut run = Run::default();
    let td_args = |image: &str| vec![("family", s("web")), ("container_definitions", s(image))];
    let first = plan(vec![
        create("task_definition.web", &td_args("web:1")),
        create(
            "ecs_service.web",
            &[("task_definition", r("task_definition.web", "arn"))],
        ),
    ]);
    let state = run.apply(&first, State::new("t")).await.state;
    let old = state.resources[&addr("task_definition.web")].clone();

    run.provider.delay(Target::Any, Method::Any, SEC);
    let second = plan(vec![
        replace("task_definition.web", &state, &td_args("web:2"), true),
        update(
            "ecs_service.web",
            &state,
            &[("task_definition", r("task_definition.web", "arn"))],
        ),
    ]);
    let out = run.apply(&second, state).await;
    assert!(out.is_success(), "{out:?}");

    let create = run
        .calls(Method::Create, "task_definition.web")
        .pop()
        .unwrap();
    let upd = run.call(Method::Update, "ecs_service.web");
    let del = run.call(Method::Delete, "task_definition.web");
    assert!(upd.start >= end(&create));
    assert!(
        del.start >= end(&upd),
        "the old revision goes after the service moved"
    );
    assert!(del.ok);

    let st = &out.state;
    let new = &st.resources[&addr("task_definition.web")];
    assert_ne!(new.id, old.id);
    assert_eq!(
        st.resources[&addr("ecs_service.web")].args["task_definition"],
        new.outputs["arn"]
    );
    assert!(st.deposed.is_empty());
    assert!(run.provider.get(&old.id).is_none());
    // While the new revision existed and the old one was not yet deleted, the state
    // recorded the old one as deposed.
    assert!(run
        .store
        .all()
        .iter()
        .any(|s| s.deposed.iter().any(|d| d.resource.id == old.id)));
    assert_eq!(
        out.completed
            .iter()
            .filter(|(_, a, _)| *a == Action::Replace)
            .count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn destroy_then_create_deletes_the_old_object_first() {
    let mut run = Run::default();
    let state = run
        .apply(
            &plan(vec![create(
                "subnet.a",
                &[("cidr_block", s("10.0.0.0/24"))],
            )]),
            State::new("t"),
        )
        .await
        .state;
    let old_id = state.resources[&addr("subnet.a")].id.clone();
    run.provider.delay(Target::Any, Method::Any, SEC);
    let p = plan(vec![replace(
        "subnet.a",
        &state,
        &[("cidr_block", s("10.0.9.0/24"))],
        false,
    )]);
    let out = run.apply(&p, state).await;
    assert!(out.is_success(), "{out:?}");
    let del = run.call(Method::Delete, "subnet.a");
    let create = run.calls(Method::Create, "subnet.a").pop().unwrap();
    assert!(create.start >= end(&del));
    let new = &out.state.resources[&addr("subnet.a")];
    assert_ne!(new.id, old_id);
    assert_eq!(new.args["cidr_block"], json!("10.0.9.0/24"));
    assert_eq!(run.provider.objects().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_stops_new_work_and_saves_what_was_in_flight() {
    let mut run = Run::default();
    run.provider
        .delay(Target::Kind(Kind::Vpc), Method::Create, 10 * SEC);
    run.provider
        .delay(Target::Kind(Kind::IamRole), Method::Create, 20 * SEC);
    let changes = vec![
        create("vpc.main", &[]),
        create("subnet.a", &[("vpc_id", r("vpc.main", "id"))]),
        create("iam_role.slow", &[]),
    ];
    let interrupt = run.interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(5 * SEC).await;
        interrupt.trigger();
    });
    let out = run.apply(&plan(changes), State::new("t")).await;

    assert!(out.interrupted);
    assert_eq!(
        completed(&out),
        set(&["vpc.main", "iam_role.slow"]),
        "in-flight calls finish"
    );
    assert_eq!(out.skipped.len(), 1);
    assert_eq!(out.skipped[0].0, addr("subnet.a"));
    assert!(out.skipped[0].1.contains("interrupted"));
    assert!(run.calls(Method::Create, "subnet.a").is_empty());
    let saved = run.store.last();
    assert_eq!(saved, out.state);
    assert_eq!(
        addresses(saved.resources.keys()),
        set(&["vpc.main", "iam_role.slow"])
    );
    assert!(saved.pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_run_that_dies_mid_create_is_resolved_by_adopting_what_it_made() {
    let mut run = Run::default();
    let p = plan(vec![create(
        "vpc.main",
        &[("cidr_block", s("10.0.0.0/16"))],
    )]);
    // The create goes through, then the process dies before the reply arrives.
    run.provider
        .hang(Target::Address(addr("vpc.main")), Method::Create);
    let died = tokio::time::timeout(10 * SEC, run.apply(&p, State::new("t"))).await;
    assert!(died.is_err(), "the first run never finished");

    let saved = run.store.last();
    let pending = &saved.pending[&addr("vpc.main")];
    assert_eq!(pending.args["cidr_block"], json!("10.0.0.0/16"));
    assert!(saved.resources.is_empty());
    assert_eq!(kind_count(&run.provider, Kind::Vpc), 1);

    let out = run.apply(&p, saved).await;
    assert!(out.is_success(), "{out:?}");
    assert_eq!(kind_count(&run.provider, Kind::Vpc), 1, "no duplicate");
    let only = &run.provider.objects()[0];
    assert_eq!(out.state.resources[&addr("vpc.main")].id, only.id);
    assert!(out.state.pending.is_empty());
    assert_eq!(run.calls(Method::Find, "vpc.main").len(), 1);
    assert_eq!(
        run.calls(Method::Create, "vpc.main").len(),
        1,
        "only the first run created"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lost_reply_keeps_the_intent_and_the_next_run_adopts_and_updates() {
    let mut run = Run::default();
    run.provider
        .lose_reply(Target::Address(addr("security_group.alb")), Method::Create);
    let first = plan(vec![create(
        "security_group.alb",
        &[("description", s("one"))],
    )]);
    let out = run.apply(&first, State::new("t")).await;
    assert_eq!(out.failed.len(), 1);
    assert_eq!(out.failed[0].1.class, ErrorClass::Other);
    assert!(out.state.pending.contains_key(&addr("security_group.alb")));
    assert_eq!(run.store.last(), out.state);

    // The stack changed in between: the adopted group is updated to the new arguments.
    let second = plan(vec![create(
        "security_group.alb",
        &[("description", s("two"))],
    )]);
    let out = run.apply(&second, out.state).await;
    assert!(out.is_success(), "{out:?}");
    assert_eq!(kind_count(&run.provider, Kind::SecurityGroup), 1);
    let obj = &run.provider.objects()[0];
    assert_eq!(obj.args["description"], json!("two"));
    assert_eq!(out.state.resources[&addr("security_group.alb")].id, obj.id);
    assert_eq!(run.calls(Method::Update, "security_group.alb").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_state_is_saved_after_every_change() {
    let mut run = Run::default();
    let out = run.apply(&plan(network()), State::new("t")).await;
    assert!(out.is_success());
    // Each create: the intent, then the result.
    assert_eq!(run.store.count(), 8);
    let saves = run.store.all();
    for a in ["vpc.main", "subnet.a", "subnet.b", "route_table.main"] {
        let a = addr(a);
        let intent = saves
            .iter()
            .position(|s| s.pending.contains_key(&a))
            .unwrap();
        let result = saves
            .iter()
            .position(|s| s.resources.contains_key(&a))
            .unwrap();
        assert!(
            intent < result,
            "{a}: the intent is saved before the create"
        );
        assert!(
            saves[intent..result]
                .iter()
                .all(|s| s.pending.contains_key(&a)),
            "{a}: the intent stays until the result is recorded"
        );
        assert!(
            !saves[result].pending.contains_key(&a),
            "{a}: recorded and resolved at once"
        );
    }
    let serials: Vec<u64> = saves.iter().map(|s| s.serial).collect();
    assert_eq!(serials, (1..=8).collect::<Vec<_>>());

    let state = out.state;
    let p = plan(vec![
        update(
            "subnet.b",
            &state,
            &[
                ("vpc_id", r("vpc.main", "id")),
                ("cidr_block", s("10.0.2.0/24")),
            ],
        ),
        delete("route_table.main", &state),
    ]);
    let out = run.apply(&p, state).await;
    assert!(out.is_success(), "{out:?}");
    assert_eq!(run.store.count(), 10, "one save per update and per delete");
}

#[tokio::test(start_paused = true)]
async fn a_failed_save_stops_the_run() {
    let mut run = Run::default();
    // Saves 1 and 2 record the VPC; save 3 (a subnet's intent) fails.
    run.store.fail_at = Some(3);
    let out = run.apply(&plan(network()), State::new("t")).await;
    assert_eq!(out.save_error.as_deref(), Some("no space left on device"));
    assert_eq!(completed(&out), set(&["vpc.main"]));
    assert_eq!(
        kind_count(&run.provider, Kind::Subnet),
        0,
        "no create without a saved intent"
    );
    assert_eq!(
        addresses(out.skipped.iter().map(|(a, _)| a)),
        set(&["subnet.a", "subnet.b", "route_table.main"])
    );
    assert!(out
        .skipped
        .iter()
        .all(|(_, why)| why.contains("saving the state failed")));
    assert!(out.state.pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn throttling_halves_the_api_limit_and_retries() {
    let mut run = Run::default();
    run.provider.delay(Target::Any, Method::Create, SEC);
    run.provider.fail_nth(
        Target::Kind(Kind::Subnet),
        Method::Create,
        1,
        ErrorClass::Throttled,
    );
    let changes = (0..8)
        .map(|i| create(&format!("subnet.s{i}"), &[]))
        .collect();
    let t0 = tokio::time::Instant::now();
    let out = run.apply(&plan(changes), State::new("t")).await;
    assert!(out.is_success(), "{out:?}");
    let calls = run.provider.calls();
    assert_eq!(calls.len(), 9);
    assert_eq!(max_overlap(&calls), 4);
    let later: Vec<_> = calls.into_iter().filter(|c| c.start >= t0 + SEC).collect();
    assert_eq!(
        max_overlap(&later),
        2,
        "after the throttle at most 2 ec2 calls at once"
    );
    assert_eq!(kind_count(&run.provider, Kind::Subnet), 8);
}

#[tokio::test(start_paused = true)]
async fn leftovers_of_an_earlier_run_are_cleaned_up_first() {
    let mut run = Run::default();
    let mut state = State::new("t");
    // An old task definition revision whose delete did not happen.
    let old = run
        .provider
        .insert(&addr("task_definition.web"), Default::default());
    state.deposed.push(Deposed {
        address: addr("task_definition.web"),
        resource: ecsctl_state::ResourceState {
            id: old.id.clone(),
            args: Default::default(),
            outputs: old.outputs.clone(),
            deps: vec![],
        },
    });
    // A create that was made but never confirmed, for an address no longer in the stack.
    let tagged = json!({"tags": {"ecsctl:stack": "t", "ecsctl:address": "log_group.old"}})
        .as_object()
        .unwrap()
        .clone();
    let made = run.provider.insert(&addr("log_group.old"), tagged.clone());
    state.pending.insert(
        addr("log_group.old"),
        Pending {
            token: "not-this-one".into(),
            since: "2024-01-01T00:00:00Z".into(),
            args: tagged,
            deps: vec![],
        },
    );
    let out = run.apply(&plan(vec![]), state).await;
    assert!(out.failed.is_empty() && out.skipped.is_empty(), "{out:?}");
    assert!(
        run.provider.get(&old.id).is_none(),
        "the old revision was deleted"
    );
    assert!(out.state.deposed.is_empty());
    assert!(out.state.pending.is_empty());
    assert_eq!(
        out.state.resources[&addr("log_group.old")].id,
        made.id,
        "adopted"
    );
    assert_eq!(run.store.last(), out.state);
}

#[tokio::test(start_paused = true)]
async fn an_unresolvable_reference_is_a_clear_error_for_that_change() {
    let mut run = Run::default();
    let p = plan(vec![
        create("subnet.a", &[("vpc_id", r("vpc.missing", "id"))]),
        create("vpc.main", &[]),
    ]);
    let out = run.apply(&p, State::new("t")).await;
    assert_eq!(out.failed.len(), 1);
    let err = &out.failed[0].1;
    assert_eq!(err.address, Some(addr("subnet.a")));
    assert!(err.message.contains("vpc.missing.id"), "{err}");
    assert_eq!(completed(&out), set(&["vpc.main"]));
    assert_eq!(kind_count(&run.provider, Kind::Subnet), 0);
}

#[tokio::test(start_paused = true)]
async fn refresh_reads_once_per_kind() {
    let mut run = Run::default();
    let mut changes = network();
    changes.push(create("iam_role.a", &[]));
    changes.push(create("iam_role.b", &[]));
    let state = run.apply(&plan(changes), State::new("t")).await.state;
    // One role disappears behind ecsctl's back.
    let gone = state.resources[&addr("iam_role.b")].id.clone();
    let options = ecsctl_provider::Options::default();
    let call = ecsctl_provider::Call {
        address: &addr("iam_role.b"),
        progress: &ecsctl_provider::Quiet,
        options: &options,
    };
    ecsctl_provider::Provider::delete(
        &*run.provider,
        &call,
        &gone,
        &Default::default(),
        &Default::default(),
    )
    .await
    .unwrap();

    let before = run.provider.call_count(Method::Read, &Target::Any);
    let out = refresh(&state, run.provider.clone()).await;
    assert_eq!(out.calls, 4, "vpc, subnet, route_table, iam_role");
    assert_eq!(
        run.provider.call_count(Method::Read, &Target::Any) - before,
        4
    );
    assert!(out.failed.is_empty());
    assert_eq!(out.live.len(), 6);
    assert_eq!(out.live[&addr("iam_role.b")], None);
    let a = out.live[&addr("subnet.a")].as_ref().unwrap();
    assert_eq!(a.args["cidr_block"], json!("10.0.0.0/24"));
}

// A replacement whose new object was made but whose old one could not be deleted is not
// "completed", but what it did must still be counted: one object added, none destroyed.
#[tokio::test(start_paused = true)]
async fn a_half_done_replacement_reports_the_object_it_made() {
    let mut run = Run::default();
    let td_args = |image: &str| vec![("family", s("web")), ("container_definitions", s(image))];
    let state = run
        .apply(
            &plan(vec![create("task_definition.web", &td_args("web:1"))]),
            State::new("t"),
        )
        .await
        .state;
    run.provider.fail(
        Target::Address(addr("task_definition.web")),
        Method::Delete,
        ErrorClass::AccessDenied,
        1,
    );
    let second = plan(vec![replace(
        "task_definition.web",
        &state,
        &td_args("web:2"),
        true,
    )]);
    let out = run.apply(&second, state).await;
    assert!(!out.is_success());
    assert!(out.completed.is_empty(), "{:?}", out.completed);
    let ops: Vec<Op> = out.operations.iter().map(|(_, op)| *op).collect();
    assert_eq!(ops, vec![Op::Create]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_update_leaves_what_it_asked_for_in_the_state_until_it_succeeds() {
    let mut run = Run::default();
    let state = run
        .apply(
            &plan(vec![create(
                "security_group.alb",
                &[("description", s("old"))],
            )]),
            State::new("t"),
        )
        .await
        .state;
    assert!(state.unconfirmed.is_empty());
    run.provider.fail(
        Target::Address(addr("security_group.alb")),
        Method::Update,
        ErrorClass::Other,
        1,
    );
    let change = update("security_group.alb", &state, &[("description", s("new"))]);
    let out = run.apply(&plan(vec![change.clone()]), state).await;
    assert!(!out.is_success());
    let st = out.state;
    assert_eq!(
        st.resources[&addr("security_group.alb")].args["description"],
        json!("old"),
        "the update is not recorded as done"
    );
    assert_eq!(
        st.unconfirmed[&addr("security_group.alb")]["description"],
        json!("new"),
        "but what it asked for is kept, and saved"
    );
    assert_eq!(run.store.last().unconfirmed, st.unconfirmed);

    let out = run.apply(&plan(vec![change]), st).await;
    assert!(out.is_success(), "{out:?}");
    assert!(out.state.unconfirmed.is_empty());
    assert_eq!(
        out.state.resources[&addr("security_group.alb")].args["description"],
        json!("new")
    );
}
