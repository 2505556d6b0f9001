//! Plan files: a plan saved by `ecsctl plan -out FILE` and applied later. JSON, written
//! atomically (private temp file beside the target, flushed, renamed) with mode 0600, since
//! a plan holds the stack's arguments.

use crate::model::{Plan, FORMAT_VERSION};
use serde::Deserialize;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a plan file could not be written or read. Every variant names the file and says what
/// to do.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot {action} plan file {}: {source}; check the path and its directory's permissions", path.display())]
    Io {
        path: PathBuf,
        /// What was being done: `read`, `write`, `replace`, …
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "plan file {}:{line}:{column} is corrupt: {message}; make a new plan with `ecsctl plan --out {}`",
        path.display(),
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "plan file {} has format_version {found}: written by a newer ecsctl (this one reads \
         format_version {supported} and older); apply it with that ecsctl, or make a new plan \
         with this one",
        path.display()
    )]
    NewerFormat {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
}

impl PlanFileError {
    pub fn path(&self) -> &Path {
        match self {
            PlanFileError::Io { path, .. }
            | PlanFileError::Corrupt { path, .. }
            | PlanFileError::NewerFormat { path, .. } => path,
        }
    }
}

/// Write `plan` to `path` atomically with mode 0600. On failure any earlier file at `path`
/// is left as it was and no temp file remains.
pub fn save(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    let io_err = |action: &'static str| {
        move |source: io::Error| PlanFileError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let mut text = serde_json::to_string_pretty(plan)
        .map_err(|e| io_err("serialise")(io::Error::new(io::ErrorKind::InvalidData, e)))?;
    text.push('\n');

    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".to_string());
    let dir = parent_dir(path);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = write_private(&tmp, text.as_bytes())
        .map_err(io_err("write a temp file beside"))
        .and_then(|()| fs::rename(&tmp, path).map_err(io_err("replace")));
    if result.is_err() {
        // Best effort: the error that got us here is the one worth reporting.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Only the version, so that a newer format is reported as such rather than as corrupt.
#[derive(Deserialize)]
struct VersionProbe {
    format_version: Option<u64>,
}

/// Read the plan at `path`, refusing a corrupt file (with the line and column) or one
/// written in a newer format.
pub fn load(path: &Path) -> Result<Plan, PlanFileError> {
    let bytes = fs::read(path).map_err(|source| PlanFileError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })?;
    let corrupt = |e: serde_json::Error| PlanFileError::Corrupt {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: without_position(&e),
    };
    let probe: VersionProbe = serde_json::from_slice(&bytes).map_err(corrupt)?;
    if let Some(found) = probe.format_version {
        if found > u64::from(FORMAT_VERSION) {
            return Err(PlanFileError::NewerFormat {
                path: path.to_path_buf(),
                found,
                supported: FORMAT_VERSION,
            });
        }
    }
    serde_json::from_slice(&bytes).map_err(corrupt)
}

/// serde_json's message without the trailing " at line L column C" (reported separately).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(head) => head.to_string(),
        None => text,
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file: File = options.open(path)?;
    #[cfg(unix)]
    {
        // A leftover temp file from a crashed run may have other permissions.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, AttrDiff, Change};
    use ecsctl_graph::{Address, Value};
    use ecsctl_state::ResourceState;
    use std::collections::BTreeMap;

    fn sample() -> Plan {
        let a = |s: &str| s.parse::<Address>().unwrap();
        let before = ResourceState {
            id: "subnet-1".into(),
            args: serde_json::from_str(r#"{"availability_zone": "eu-west-2a", "key_name": null}"#)
                .unwrap(),
            outputs: Default::default(),
            deps: vec![a("vpc.main")],
        };
        Plan {
            format_version: FORMAT_VERSION,
            stack: "hello".into(),
            stack_hash: "abc".into(),
            lineage: "l".into(),
            serial: 3,
            destroy: false,
            data: BTreeMap::from([("region".to_string(), serde_json::json!("eu-west-2"))]),
            changes: vec![Change {
                address: a("subnet.private[0]"),
                action: Action::Replace,
                create_before_destroy: false,
                resume: false,
                before: Some(before),
                after: Some(BTreeMap::from([
                    ("vpc_id".to_string(), a("vpc.main").attr("id")),
                    ("availability_zone".to_string(), Value::str("eu-west-2b")),
                    ("ami".to_string(), Value::Unknown),
                    ("key_name".to_string(), Value::Null),
                    ("size".to_string(), Value::from(serde_json::json!(1.5))),
                ])),
                diffs: vec![AttrDiff {
                    name: "availability_zone".into(),
                    before: Some(serde_json::json!("eu-west-2a")),
                    after: Some(Value::str("eu-west-2b")),
                    forces_replace: true,
                }],
                replace_reasons: vec!["availability_zone".into()],
                deps: vec![a("vpc.main")],
            }],
        }
    }

    #[test]
    fn a_saved_plan_loads_back_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello.plan");
        save(&sample(), &path).unwrap();
        assert_eq!(load(&path).unwrap(), sample());
        // Saving again replaces the file.
        let mut other = sample();
        other.serial = 4;
        save(&other, &path).unwrap();
        assert_eq!(load(&path).unwrap().serial, 4);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file left behind");
    }

    #[cfg(unix)]
    #[test]
    fn plan_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        save(&sample(), &path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_newer_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let mut j = serde_json::to_value(sample()).unwrap();
        j["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
        j["something_new"] = serde_json::json!(true);
        fs::write(&path, j.to_string()).unwrap();
        let err = load(&path).unwrap_err();
        assert!(
            matches!(err, PlanFileError::NewerFormat { found, .. } if found == u64::from(FORMAT_VERSION) + 1)
        );
        assert!(err.to_string().contains("written by a newer ecsctl"));
    }

    #[test]
    fn a_corrupt_file_is_refused_with_its_location() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, "{\n  \"format_version\": 1,\n  \"stack\": }\n").unwrap();
        match load(&path).unwrap_err() {
            PlanFileError::Corrupt { line, column, .. } => {
                assert_eq!((line, column), (3, 12));
            }
            other => panic!("expected Corrupt, got {other}"),
        }
        // Valid JSON of the wrong shape is corrupt too, with a location.
        fs::write(&path, "{\"format_version\": 1, \"stack\": 5}").unwrap();
        let err = load(&path).unwrap_err();
        assert!(
            matches!(err, PlanFileError::Corrupt { line: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("p.json:1:"), "{err}");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = load(Path::new("/nonexistent/dir/p.json")).unwrap_err();
        assert!(matches!(err, PlanFileError::Io { action: "read", .. }));
        assert_eq!(err.path(), Path::new("/nonexistent/dir/p.json"));
    }
}
