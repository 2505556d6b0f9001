//! A cloneable "stop" signal (the CLI triggers it on the first Ctrl-C): the engine starts
//! no new change, and provider waiters stop waiting.

use std::sync::Arc;
use tokio::sync::watch;

/// Triggering it stops an apply from starting new changes and every waiter from waiting
/// (the change it waits for was made; the next run finds it); calls in flight finish and
/// their results are saved. Clones share the signal.
#[derive(Clone, Debug)]
pub struct Interrupt {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt::new()
    }
}

impl Interrupt {
    pub fn new() -> Self {
        Interrupt {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Ask the run to stop starting new work. Idempotent.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once the signal is triggered (at once if it already was).
    pub async fn triggered(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|v| *v).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_clone_sees_the_trigger_and_waiters_wake() {
        let i = Interrupt::new();
        let c = i.clone();
        assert!(!c.is_triggered());
        let waiter = tokio::spawn(async move { c.triggered().await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!waiter.is_finished());
        i.trigger();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("waiter woke")
            .unwrap();
        assert!(i.is_triggered());
        // Already triggered: returns at once.
        i.triggered().await;
    }
}
