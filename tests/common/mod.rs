//! What the end-to-end tests share: running the real `ecsctl` binary and finding the
//! repository's files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// What one `ecsctl` run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// This run, after asserting that it succeeded (`what` names it in the failure).
    pub fn ok(self, what: &str) -> Run {
        assert_eq!(
            self.code, 0,
            "{what} failed:\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// `ecsctl ARGS` in `dir` with `env` (the emulator's endpoint and credentials), stdin
/// closed, and none of the user's profile, log filter or colour settings.
pub fn command(dir: &Path, args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecsctl"));
    cmd.current_dir(dir).args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    cmd
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
