//! Every example stack shipped with ecsctl is valid.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .expect("the examples/ directory at the repository root")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.push(root.join("stack.toml.example"));
    files
}

#[test]
fn every_example_parses_without_diagnostics() {
    let files = example_files();
    assert!(
        files.len() >= 5,
        "expected the four examples and stack.toml.example"
    );
    for path in files {
        if let Err(e) = ecsctl_stack::load(&path) {
            panic!("{} is not valid:\n{}", path.display(), e.render());
        }
    }
}

#[test]
fn the_examples_show_what_they_say() {
    let load = |name: &str| ecsctl_stack::load(&repo_root().join(name)).unwrap();

    let flask = load("examples/hello-flask.toml");
    assert_eq!(flask.region.as_deref(), Some("eu-west-2"));
    assert_eq!(
        flask.dns.as_ref().map(|d| d.zone.as_str()),
        Some("myorg.local.")
    );
    assert_eq!((flask.cluster.min_size, flask.cluster.max_size), (2, 4));
    assert!(flask.cluster.scaling.is_some());
    // several containers per instance
    assert!(flask.services[0].desired_count > flask.cluster.min_size);

    let multi = load("examples/multi-service.toml");
    assert_eq!(multi.services[1].path.as_deref(), Some("/api/*"));
    assert!(multi.services.iter().any(|s| s.host.is_some()));

    let https = load("examples/https.toml");
    assert!(https.load_balancer.certificate_arn.is_some());
    assert_eq!(https.network.nat, ecsctl_stack::NatMode::PerAz);
    assert_eq!(
        https.network.azs,
        ecsctl_stack::Azs::Names(vec![
            "eu-west-2a".into(),
            "eu-west-2b".into(),
            "eu-west-2c".into()
        ])
    );

    let demo = load("stack.toml.example");
    assert_eq!(demo.region.as_deref(), Some("eu-west-2"));
    assert_eq!(demo.network.azs, ecsctl_stack::Azs::Count(2));
    assert_eq!(demo.network.nat, ecsctl_stack::NatMode::Single);
    assert_eq!(
        demo.dns.as_ref().map(|d| d.zone.as_str()),
        Some("myorg.local.")
    );
    assert_eq!(demo.services.len(), 1);
    assert_eq!(demo.services[0].name, "hello");
}
