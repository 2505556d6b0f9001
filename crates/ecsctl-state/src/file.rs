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
    let mut text = serde_json::to_string_pretty(state)
        .map_err(|e| io_err("serialise the state for")(io::Error::new(io::ErrorKind::InvalidData, e)))?;
    text.push('\n');

    let new = TempFile::create(path, text.as_bytes()).map_err(io_err("write a temp file beside"))?;

    match fs::read(path) {
        Ok(previous) => {
            let backup = backup_path(path);
            let tmp = TempFile::create(&backup, &previous)
                .map_err(io_err("write the backup of"))?;
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
