//! Reading and writing the state file.
//!
//! Reading refuses anything it cannot trust (corrupt JSON, a newer format, unknown fields,
//! another stack's state) and never touches the file while doing so. Writing is atomic: the
//! new version goes to a private temp file beside the state, is flushed to disk, the current
//! version is copied to `<path>.backup`, and only then is the temp renamed over the state.

use crate::model::{State, FORMAT_VERSION};
use serde::Deserialize;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why the state file could not be read or written. Every variant names the file, and the
/// message ends with how to fix the problem (the same text [`StateError::hint`] returns).
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} {}; {}", path.display(), self.hint())]
    Io {
        path: PathBuf,
        /// What was being done: `read`, `create`, `write`, `rename`, …
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("state file {} is corrupt at line {line}, column {column}: {message}; {}", path.display(), self.hint())]
    Corrupt {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "state file {} has format_version {found}: written by a newer ecsctl; upgrade \
         (this ecsctl reads format_version {supported} and older)",
        path.display()
    )]
    NewerFormat {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    #[error("state file {} belongs to stack `{found}`, not `{expected}`; {}", path.display(), self.hint())]
    WrongStack {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// Well-formed JSON of the right shape whose content cannot be right (an empty lineage,
    /// format_version 0).
    #[error("state file {} is invalid: {message}; {}", path.display(), self.hint())]
    Invalid { path: PathBuf, message: String },
}

impl StateError {
    /// The state file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            StateError::Io { path, .. }
            | StateError::Corrupt { path, .. }
            | StateError::NewerFormat { path, .. }
            | StateError::WrongStack { path, .. }
            | StateError::Invalid { path, .. } => path,
        }
    }

    /// How to fix the problem. Already part of the error's message.
    pub fn hint(&self) -> String {
        match self {
            StateError::Io { path, source, .. } => {
                let dir = parent_dir(path);
                match source.kind() {
                    io::ErrorKind::PermissionDenied => format!(
                        "check that you may read and write {} and its directory {}",
                        path.display(),
                        dir.display()
                    ),
                    io::ErrorKind::NotFound => format!(
                        "check that the directory {} exists (pass --state to put the state elsewhere)",
                        dir.display()
                    ),
                    _ => format!(
                        "check the file and its directory {} (disk full? read-only file system?); \
                         the previous state was left as it was",
                        dir.display()
                    ),
                }
            }
            StateError::Corrupt { path, .. } | StateError::Invalid { path, .. } => format!(
                "ecsctl leaves it untouched; the backup at {} holds the previous version: \
                 inspect it and copy it over {} if it is good",
                backup_path(path).display(),
                path.display()
            ),
            StateError::NewerFormat { found, .. } => {
                format!("upgrade ecsctl to a version that reads format_version {found}")
            }
            StateError::WrongStack { expected, .. } => format!(
                "--state points at another stack's state: pass the state file of stack \
                 `{expected}`, or omit --state to use the one beside the stack file"
            ),
        }
    }
}

/// The state beside the stack file: `dir/stack.toml` → `dir/stack.state.json`.
pub fn default_path(stack_file: &Path) -> PathBuf {
    let stem = stack_file
        .file_stem()
        .map(|s| s.to_os_string())
        .unwrap_or_else(|| OsString::from("stack"));
    let mut name = stem;
    name.push(".state.json");
    stack_file.with_file_name(name)
}

/// Where [`write`] keeps the previous version: `<path>.backup`.
pub fn backup_path(path: impl AsRef<Path>) -> PathBuf {
    with_suffix(path.as_ref(), ".backup")
}

/// Read the state at `path`; `None` when there is no file. The file is never modified.
pub fn read(path: impl AsRef<Path>) -> Result<Option<State>, StateError> {
    let path = path.as_ref();
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_path_buf(),
                action: "read",
                source,
            })
        }
    };
    parse(path, &bytes).map(Some)
}

/// Read the state of stack `stack` at `path`, or a new empty one if there is no file.
/// A state that belongs to another stack is refused.
pub fn read_or_new(path: impl AsRef<Path>, stack: &str) -> Result<State, StateError> {
    let path = path.as_ref();
    match read(path)? {
        None => Ok(State::new(stack)),
        Some(state) if state.stack == stack => Ok(state),
        Some(state) => Err(StateError::WrongStack {
            path: path.to_path_buf(),
            found: state.stack,
            expected: stack.to_string(),
        }),
    }
}

/// Only the version, so that a newer format is reported as such before its new fields
/// would be reported as unknown.
#[derive(Deserialize)]
struct VersionProbe {
    format_version: Option<u64>,
}

fn parse(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    let corrupt = |e: serde_json::Error| StateError::Corrupt {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: without_position(&e),
    };
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(corrupt)?;
    if let Some(found) = probe.format_version {
        if found > u64::from(FORMAT_VERSION) {
            return Err(StateError::NewerFormat {
                path: path.to_path_buf(),
                found,
                supported: FORMAT_VERSION,
            });
        }
    }
    let state: State = serde_json::from_slice(bytes).map_err(corrupt)?;
    let invalid = |message: &str| StateError::Invalid {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    if state.format_version == 0 {
        return Err(invalid("format_version 0 was never written by ecsctl"));
    }
    if state.lineage.trim().is_empty() {
        return Err(invalid("its lineage is empty"));
    }
    Ok(state)
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

/// Write `state` to `path` atomically, bumping its serial, keeping the current file (if
/// any) as `<path>.backup`. Both files get mode 0600. On failure the file at `path` is left
/// as it was, no temp file is left behind and `state.serial` is not bumped.
pub fn write(path: impl AsRef<Path>, state: &mut State) -> Result<(), StateError> {
    let path = path.as_ref();
    state.serial += 1;
    let result = write_bumped(path, state);
    if result.is_err() {
        state.serial -= 1;
    }
    result
}

fn write_bumped(path: &Path, state: &State) -> Result<(), StateError> {
    let io_err = |action: &'static str| {
        move |source: io::Error| StateError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let mut text = serde_json::to_string_pretty(state).map_err(|e| {
        io_err("serialise the state for")(io::Error::new(io::ErrorKind::InvalidData, e))
    })?;
    text.push('\n');

    let new =
        TempFile::create(path, text.as_bytes()).map_err(io_err("write a temp file beside"))?;

    match fs::read(path) {
        Ok(previous) => {
            let backup = backup_path(path);
            let tmp =
                TempFile::create(&backup, &previous).map_err(io_err("write the backup of"))?;
            tmp.rename_to(&backup)
                .map_err(io_err("replace the backup of"))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(io_err("read the current version of")(source)),
    }

    new.rename_to(path).map_err(io_err("replace"))?;
    sync_dir(&parent_dir(path)).map_err(io_err("flush the directory of"))?;
    Ok(())
}

/// A private temp file beside its target, removed on drop unless renamed into place.
struct TempFile {
    path: PathBuf,
    renamed: bool,
}

impl TempFile {
    /// Create `.<target name>.<pid>-<random>.tmp` in the target's directory with mode 0600,
    /// write `bytes` and flush them to disk.
    fn create(target: &Path, bytes: &[u8]) -> io::Result<TempFile> {
        use rand::Rng;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_string());
        let tag: u32 = rand::thread_rng().gen();
        let tmp_name = format!(".{name}.{}-{tag:08x}.tmp", std::process::id());
        let path = parent_dir(target).join(tmp_name);
        let mut file = create_private(&path)?;
        // From here on the file exists: the guard removes it if anything below fails.
        let guard = TempFile {
            path,
            renamed: false,
        };
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(guard)
    }

    /// Rename over `target`; from then on the file is no longer removed on drop.
    fn rename_to(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            // Best effort: the error that got us here is the one worth reporting.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A new file only its owner may read and write.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Make a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` appended to its last component: `a/s.json` + `.lock` → `a/s.json.lock`.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Pending, ResourceState};
    use ecsctl_graph::{Address, Kind};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> State {
        let mut state = State::new("web");
        let args = json!({"cidr_block": "10.0.0.0/16", "tags": {"Name": "web"}});
        state.resources.insert(
            Address::new(Kind::Vpc, "main"),
            ResourceState {
                id: "vpc-0123".into(),
                args: args.as_object().cloned().unwrap_or_default(),
                outputs: Default::default(),
                deps: vec![],
            },
        );
        state.pending.insert(
            Address::indexed(Kind::Subnet, "private", 1),
            Pending {
                token: "tok-1".into(),
                since: "2026-11-23T10:00:00Z".into(),
                args: Default::default(),
                deps: vec![Address::new(Kind::Vpc, "main")],
            },
        );
        state.data.insert("region".into(), json!("eu-west-1"));
        state
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Write `text` as the state, check `read` refuses it, and that the file is unchanged.
    fn refused(text: &str) -> StateError {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        fs::write(&path, text).unwrap();
        let err = read(&path).expect_err("the state should be refused");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            text,
            "file was modified"
        );
        assert_eq!(names_in(dir.path()), ["s.state.json"]);
        err
    }

    #[test]
    fn default_path_is_beside_the_stack_file() {
        assert_eq!(
            default_path(Path::new("stack.toml")),
            PathBuf::from("stack.state.json")
        );
        assert_eq!(
            default_path(Path::new("/srv/infra/prod.toml")),
            PathBuf::from("/srv/infra/prod.state.json")
        );
        assert_eq!(
            default_path(Path::new("deploy/web.stack.toml")),
            PathBuf::from("deploy/web.stack.state.json")
        );
        assert_eq!(
            backup_path("a/s.state.json"),
            PathBuf::from("a/s.state.json.backup")
        );
    }

    #[test]
    fn missing_file_reads_as_none_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        assert!(read(&path).unwrap().is_none());
        let state = read_or_new(&path, "web").unwrap();
        assert_eq!(state.stack, "web");
        assert_eq!(state.serial, 0);
        assert_eq!(state.format_version, FORMAT_VERSION);
        assert_eq!(state.lineage.len(), 32);
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        let mut state = sample();
        write(&path, &mut state).unwrap();
        let back = read(&path).unwrap().unwrap();
        assert_eq!(back, state);
        assert_eq!(read_or_new(&path, "web").unwrap(), state);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"), "pretty JSON with a trailing newline");
        assert!(text.contains("\n  \"serial\": 1,\n"), "{text}");
        assert!(text.contains("\"vpc.main\""), "{text}");
        assert!(text.contains("\"subnet.private[1]\""), "{text}");
    }

    #[test]
    fn every_write_bumps_the_serial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        let mut state = sample();
        write(&path, &mut state).unwrap();
        assert_eq!(state.serial, 1);
        write(&path, &mut state).unwrap();
        write(&path, &mut state).unwrap();
        assert_eq!(state.serial, 3);
        assert_eq!(read(&path).unwrap().unwrap().serial, 3);
    }

    #[test]
    fn backup_holds_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        let mut state = sample();
        write(&path, &mut state).unwrap();
        assert!(
            !backup_path(&path).exists(),
            "no backup before a second write"
        );
        let first = fs::read(&path).unwrap();

        state.resources.clear();
        write(&path, &mut state).unwrap();
        assert_eq!(fs::read(backup_path(&path)).unwrap(), first);
        let previous = read(backup_path(&path)).unwrap().unwrap();
        assert_eq!(previous.serial, 1);
        assert_eq!(previous.resources.len(), 1);
        let current = read(&path).unwrap().unwrap();
        assert_eq!(current.serial, 2);
        assert!(current.resources.is_empty());
        assert_eq!(
            names_in(dir.path()),
            ["s.state.json", "s.state.json.backup"],
            "no temp file left behind"
        );
    }

    #[test]
    fn state_and_backup_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        // A world-readable file from elsewhere is replaced by a private one.
        fs::write(&path, "{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let mut state = sample();
        write(&path, &mut state).unwrap();
        write(&path, &mut state).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&backup_path(&path)), 0o600);
    }

    #[test]
    fn corrupt_file_is_refused_with_its_position_and_the_backup() {
        let err = refused("{\n  \"format_version\": 1,\n  \"serial\": oops\n}\n");
        match &err {
            StateError::Corrupt { line, column, .. } => assert_eq!((*line, *column), (3, 13)),
            other => panic!("expected Corrupt, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("is corrupt at line 3, column 13"), "{msg}");
        assert!(
            msg.contains("s.state.json.backup holds the previous version"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        write(&path, &mut sample()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let err = refused(&text[..text.len() / 2]);
        assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
        let err = refused("");
        assert!(
            matches!(err, StateError::Corrupt { line: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn newer_format_is_refused_as_such() {
        // A newer format may have fields this build does not know: the version is the
        // problem to report, not the unknown field.
        let text =
            r#"{"format_version": 7, "serial": 3, "lineage": "ab", "stack": "web", "moved": {}}"#;
        let err = refused(text);
        assert!(
            matches!(
                err,
                StateError::NewerFormat {
                    found: 7,
                    supported: FORMAT_VERSION,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("written by a newer ecsctl; upgrade"), "{msg}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = "{\"format_version\": 1, \"serial\": 3, \"lineage\": \"ab\", \"stack\": \"web\",\n \"surprise\": true}";
        let err = refused(text);
        match &err {
            StateError::Corrupt { line, message, .. } => {
                assert_eq!(*line, 2);
                assert!(message.contains("unknown field `surprise`"), "{message}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn empty_lineage_is_refused() {
        let err = refused(r#"{"format_version": 1, "serial": 3, "lineage": "", "stack": "web"}"#);
        assert!(matches!(err, StateError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().contains("lineage is empty"), "{err}");
    }

    #[test]
    fn another_stacks_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        write(&path, &mut sample()).unwrap();
        let before = fs::read(&path).unwrap();
        let err = read_or_new(&path, "api").unwrap_err();
        match &err {
            StateError::WrongStack {
                found, expected, ..
            } => assert_eq!((found.as_str(), expected.as_str()), ("web", "api")),
            other => panic!("expected WrongStack, got {other:?}"),
        }
        assert!(err
            .hint()
            .contains("--state points at another stack's state"));
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn failed_write_leaves_the_old_state_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state.json");
        let mut state = sample();
        write(&path, &mut state).unwrap();
        let before = fs::read(&path).unwrap();
        // The backup cannot be renamed into place when a directory sits at its path.
        fs::remove_file(backup_path(&path)).ok();
        fs::create_dir(backup_path(&path)).unwrap();

        state.resources.clear();
        let err = write(&path, &mut state).unwrap_err();
        assert!(matches!(err, StateError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("s.state.json"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before, "old state must be intact");
        assert_eq!(state.serial, 1, "a failed write does not bump the serial");
        assert_eq!(
            names_in(dir.path()),
            ["s.state.json", "s.state.json.backup"],
            "temp files are removed"
        );
    }

    #[test]
    fn write_into_a_missing_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nowhere").join("s.state.json");
        let mut state = sample();
        let err = write(&path, &mut state).unwrap_err();
        assert!(err.hint().contains("check that the directory"), "{err}");
        assert!(err.hint().contains("nowhere"), "{err}");
        assert_eq!(state.serial, 0);
    }
}
