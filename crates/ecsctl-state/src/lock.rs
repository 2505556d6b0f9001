//! The state lock: `<state path>.lock`, held with an exclusive OS file lock (`flock` on
//! Linux) for as long as a command uses the state.
//!
//! The operating system releases the lock when its holder exits for any reason, so a
//! crashed or killed apply never leaves a stale lock behind. While holding it, the holder
//! records who it is ([`LockInfo`]) in the lock file, so that whoever waits is told who
//! holds it and since when. The lock file itself is never deleted: removing a locked file
//! would let a second process lock a new file of the same name while the first still holds
//! the old one.

use crate::file::with_suffix;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Who holds the lock: written into the lock file by the holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub host: String,
    pub user: String,
    /// The command holding the lock: `apply`, `destroy`, `refresh`, …
    pub operation: String,
    /// RFC 3339 UTC time the lock was taken.
    pub since: String,
}

impl LockInfo {
    /// This process, about to run `operation`, from now.
    pub fn current(operation: &str) -> LockInfo {
        LockInfo {
            pid: std::process::id(),
            host: host_name(),
            user: std::env::var("USER")
                .ok()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| "unknown".to_string()),
            operation: operation.to_string(),
            since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// How long the lock has been held; `None` if `since` cannot be read or lies ahead.
    pub fn age(&self) -> Option<Duration> {
        let since = humantime::parse_rfc3339(&self.since).ok()?;
        SystemTime::now().duration_since(since).ok()
    }
}

/// "`ecsctl apply` (pid 4242 on host build-1, user ana) since 2026-11-23T10:00:00Z (5m ago)"
impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`ecsctl {}` (pid {} on host {}, user {}) since {}",
            self.operation, self.pid, self.host, self.user, self.since
        )?;
        if let Some(age) = self.age() {
            write!(f, " ({} ago)", short_age(age))?;
        }
        Ok(())
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock (the path is the lock file's).
    #[error(
        "state is locked by {0}; wait for it or retry with --lock-timeout 10m (lock file {lock})",
        lock = .1.display()
    )]
    Held(LockInfo, PathBuf),
    /// Another process holds the lock but has not (yet) recorded who it is.
    #[error(
        "state is locked by another process that did not record who it is; wait for it or \
         retry with --lock-timeout 10m (lock file {lock})",
        lock = .0.display()
    )]
    HeldByUnknown(PathBuf),
    #[error(
        "cannot {action} the lock file {}; check that its directory exists and that you may \
         write there",
        path.display()
    )]
    Io {
        path: PathBuf,
        /// What was being done: `open`, `lock`, `record the holder in`.
        action: &'static str,
        #[source]
        source: io::Error,
    },
}

/// The held lock. Dropping it clears the holder's record and releases the lock.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
    info: LockInfo,
}

impl Lock {
    /// The lock file of the state at `state_path`: `<state path>.lock`.
    pub fn path_for(state_path: impl AsRef<Path>) -> PathBuf {
        with_suffix(state_path.as_ref(), ".lock")
    }

    /// Take the lock of the state at `state_path` for `operation` (`apply`, `destroy`, …).
    /// While another process holds it, try again every 100–250 ms until `timeout` has
    /// passed (`Duration::ZERO`: try once), then fail naming the holder. This blocks the
    /// calling thread while it waits.
    // The error is built at most once per command; naming the holder matters more than its size.
    #[allow(clippy::result_large_err)]
    pub fn acquire(
        state_path: impl AsRef<Path>,
        operation: &str,
        timeout: Duration,
    ) -> Result<Lock, LockError> {
        use rand::Rng;
        let path = Lock::path_for(state_path);
        let io_err = |action: &'static str| {
            let path = path.clone();
            move |source: io::Error| LockError::Io {
                path,
                action,
                source,
            }
        };
        let file = open_lock_file(&path).map_err(io_err("open"))?;
        let start = Instant::now();
        loop {
            if fs4::fs_std::FileExt::try_lock_exclusive(&file).map_err(io_err("lock"))? {
                break;
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(match read_holder(&file) {
                    Some(info) => LockError::Held(info, path),
                    None => LockError::HeldByUnknown(path),
                });
            }
            let pause = Duration::from_millis(rand::thread_rng().gen_range(100..=250));
            std::thread::sleep(pause.min(timeout - waited));
        }
        // If recording fails, `file` is dropped here, which releases the lock.
        let info = LockInfo::current(operation);
        record(&file, &info).map_err(io_err("record the holder in"))?;
        Ok(Lock { file, path, info })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What this process recorded as the holder.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Clear the record while still holding the lock, then release it. Closing the file
        // would release it too; both steps are best effort.
        let _ = self.file.set_len(0);
        let _ = fs4::fs_std::FileExt::unlock(&self.file);
    }
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Replace the lock file's content with `info` (only while holding the lock).
fn record(mut file: &File, info: &LockInfo) -> io::Result<()> {
    let mut text = serde_json::to_string(info).map_err(io::Error::other)?;
    text.push('\n');
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// The holder's record, read without the lock. The holder writes it right after taking the
/// lock, so an empty or partial record is given a few moments to complete.
fn read_holder(mut file: &File) -> Option<LockInfo> {
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_err() || file.read_to_string(&mut text).is_err() {
            continue;
        }
        if let Ok(info) = serde_json::from_str(&text) {
            return Some(info);
        }
    }
    None
}

/// The machine's name: the kernel's, else `HOSTNAME`, else "unknown".
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// `42s`, `5m`, `2h 5m`, `3d 4h`.
fn short_age(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(result: Result<Lock, LockError>) -> (LockInfo, PathBuf) {
        match result {
            Err(LockError::Held(info, path)) => (info, path),
            Err(other) => panic!("expected Held, got {other}"),
            Ok(_) => panic!("the lock should be held by someone else"),
        }
    }

    #[test]
    fn second_acquire_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.state.json");
        let lock = Lock::acquire(&state, "apply", Duration::ZERO).unwrap();
        assert_eq!(lock.path(), dir.path().join("s.state.json.lock"));

        let err = Lock::acquire(&state, "plan", Duration::ZERO).unwrap_err();
        let msg = err.to_string();
        let (info, path) = held(Err(err));
        assert_eq!(&info, lock.info());
        assert_eq!(info.pid, std::process::id());
        assert_eq!(info.operation, "apply");
        assert_eq!(path, lock.path());
        let expected = format!(
            "state is locked by `ecsctl apply` (pid {} on host {}, user {}) since {} (",
            info.pid, info.host, info.user, info.since
        );
        assert!(msg.starts_with(&expected), "{msg}");
        assert!(
            msg.contains("ago); wait for it or retry with --lock-timeout 10m"),
            "{msg}"
        );
    }

    #[test]
    fn holder_is_recorded_in_the_lock_file_and_cleared_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.state.json");
        let lock = Lock::acquire(&state, "destroy", Duration::ZERO).unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        let recorded: LockInfo = serde_json::from_str(&text).unwrap();
        assert_eq!(&recorded, lock.info());
        assert!(humantime::parse_rfc3339(&recorded.since).is_ok());
        assert!(!recorded.host.is_empty());

        let path = lock.path().to_path_buf();
        drop(lock);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        // Released: the next one gets it at once.
        let again = Lock::acquire(&state, "apply", Duration::ZERO).unwrap();
        assert_eq!(again.info().operation, "apply");
    }

    #[test]
    fn waits_up_to_the_timeout_then_fails() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.state.json");
        let _lock = Lock::acquire(&state, "apply", Duration::ZERO).unwrap();
        let start = Instant::now();
        held(Lock::acquire(&state, "apply", Duration::from_millis(400)));
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(400), "{waited:?}");
        assert!(waited < Duration::from_secs(3), "{waited:?}");
    }

    #[test]
    fn acquires_once_the_holder_releases_during_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.state.json");
        let lock = Lock::acquire(&state, "apply", Duration::ZERO).unwrap();
        let start = Instant::now();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            drop(lock);
        });
        let second = Lock::acquire(&state, "destroy", Duration::from_secs(10)).unwrap();
        let waited = start.elapsed();
        holder.join().unwrap();
        assert!(waited >= Duration::from_millis(500), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        assert_eq!(second.info().operation, "destroy");
    }

    #[test]
    fn a_lock_file_without_a_record_is_reported_as_held_by_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.state.json");
        let path = Lock::path_for(&state);
        let other = open_lock_file(&path).unwrap();
        assert!(fs4::fs_std::FileExt::try_lock_exclusive(&other).unwrap());
        let err = Lock::acquire(&state, "apply", Duration::ZERO).unwrap_err();
        assert!(
            matches!(err, LockError::HeldByUnknown(ref p) if *p == path),
            "{err}"
        );
    }

    #[test]
    fn missing_directory_is_an_io_error_naming_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nowhere").join("s.state.json");
        let err = Lock::acquire(&state, "apply", Duration::ZERO).unwrap_err();
        assert!(
            matches!(err, LockError::Io { action: "open", .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("nowhere/s.state.json.lock"),
            "{err}"
        );
    }

    #[test]
    fn message_matches_the_documented_form() {
        let five_minutes_ago = SystemTime::now() - Duration::from_secs(5 * 60 + 10);
        let info = LockInfo {
            pid: 4242,
            host: "build-1".into(),
            user: "ana".into(),
            operation: "apply".into(),
            since: humantime::format_rfc3339_seconds(five_minutes_ago).to_string(),
        };
        let err = LockError::Held(info.clone(), PathBuf::from("s.state.json.lock"));
        assert_eq!(
            err.to_string(),
            format!(
                "state is locked by `ecsctl apply` (pid 4242 on host build-1, user ana) since {} \
                 (5m ago); wait for it or retry with --lock-timeout 10m (lock file s.state.json.lock)",
                info.since
            )
        );
        let unreadable = LockInfo {
            since: "yesterday".into(),
            ..info
        };
        assert!(unreadable.to_string().ends_with("since yesterday"));
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(short_age(Duration::from_secs(42)), "42s");
        assert_eq!(short_age(Duration::from_secs(300)), "5m");
        assert_eq!(short_age(Duration::from_secs(2 * 3600 + 5 * 60)), "2h 5m");
        assert_eq!(
            short_age(Duration::from_secs(3 * 86_400 + 4 * 3600)),
            "3d 4h"
        );
    }
}
