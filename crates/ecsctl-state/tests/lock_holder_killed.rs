//! A lock held by a process that is killed (SIGKILL: no destructors, no cleanup) must not
//! outlive it. The test re-runs its own binary as the holder.

use ecsctl_state::{Lock, LockError};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Set in the child: the state path whose lock it takes before sleeping.
const HOLD_ENV: &str = "ECSCTL_STATE_TEST_HOLD_LOCK";
const READY: &str = "ECSCTL-LOCK-HELD";

#[test]
fn killed_holder_releases_the_lock() {
    if let Ok(state) = std::env::var(HOLD_ENV) {
        hold_until_killed(&state);
    }

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state.json");
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "killed_holder_releases_the_lock",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD_ENV, &state)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let child = &mut child.0;

    let stdout = child.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains(READY)); // libtest prints "test … ... " before it
    assert!(ready, "the child never reported holding the lock");

    match Lock::acquire(&state, "plan", Duration::ZERO) {
        Err(LockError::Held(info, _)) => {
            assert_eq!(info.pid, child.id());
            assert_eq!(info.operation, "apply");
        }
        Err(other) => panic!("expected the child to hold the lock, got {other}"),
        Ok(_) => panic!("expected the child to hold the lock"),
    }

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let lock = Lock::acquire(&state, "apply", Duration::ZERO)
        .expect("a killed holder's lock is released by the OS");
    assert_eq!(lock.info().pid, std::process::id());
}

fn hold_until_killed(state: &str) -> ! {
    let _lock = Lock::acquire(state, "apply", Duration::ZERO).expect("child takes the lock");
    let mut out = std::io::stdout();
    writeln!(out, "{READY}").unwrap();
    out.flush().unwrap();
    // The parent kills us long before this ends; the bound keeps an orphan from lingering.
    std::thread::sleep(Duration::from_secs(60));
    std::process::exit(3);
}

/// Kills the holder if an assertion fails before the test kills it on purpose.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
