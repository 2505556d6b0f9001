//! Polling waiters with a deadline and progress notes.

use ecsctl_provider::{Call, ErrorClass, ProviderError};
use std::future::Future;
use std::time::Duration;
// Tokio's clock, so tests with a paused runtime reach deadlines without waiting.
use tokio::time::Instant;

/// What one poll found.
pub enum Poll<T> {
    Done(T),
    /// Not yet; the string says what is being waited for (shown as progress).
    Pending(String),
}

/// Seconds since the Unix epoch now: the clock AWS timestamps (task stops, scaling
/// activities) are compared with.
pub fn now_epoch_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Poll `check` every `interval` (growing to at most 4× it) until it returns `Done`, an
/// error, or `call.options.wait_timeout` passes (the last poll is at the deadline itself),
/// reporting progress on each pending poll. The run's interrupt (first Ctrl-C) stops the
/// wait at once: what it waits for was started, and the next run finds it.
pub async fn until<T, F, Fut>(
    call: &Call<'_>,
    interval: Duration,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    let start = Instant::now();
    let deadline = start + call.options.wait_timeout;
    let mut delay = interval;
    loop {
        match check().await? {
            Poll::Done(v) => return Ok(v),
            Poll::Pending(what) => {
                let elapsed = start.elapsed().as_secs();
                let now = Instant::now();
                if now >= deadline {
                    return Err(ProviderError::new(
                        ErrorClass::Timeout,
                        format!("gave up after {elapsed}s (--wait-timeout): {what}"),
                    ));
                }
                call.progress
                    .note(call.address, &format!("{what} ({elapsed}s)"));
                let pause = delay.min(deadline - now);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = call.options.interrupt.triggered() => {
                        return Err(ProviderError::new(
                            ErrorClass::Timeout,
                            format!(
                                "stopped waiting after {elapsed}s (interrupted): {what}; the \
                                 change was made, run apply again to finish"
                            ),
                        ));
                    }
                }
            }
        }
        delay = (delay * 3 / 2).min(interval * 4);
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;
    use ecsctl_graph::{Address, Kind};
    use ecsctl_provider::{Options, Quiet};
    use std::sync::atomic::{AtomicU32, Ordering};

    // `--wait-timeout 60s` waits 60 s, not the 48 s its last whole interval allowed.
    #[tokio::test(start_paused = true)]
    async fn the_last_poll_is_at_the_deadline() {
        let address = Address::new(Kind::NatGateway, "main");
        let options = Options::bounded(true, Duration::from_secs(60));
        let call = Call {
            address: &address,
            progress: &Quiet,
            options: &options,
        };
        let polls = AtomicU32::new(0);
        let started = Instant::now();
        let err = until(&call, Duration::from_secs(25), || async {
            polls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ProviderError>(Poll::<()>::Pending("pending".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Timeout);
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        assert!(err.message.contains("gave up after 60s"), "{err}");
        assert_eq!(polls.load(Ordering::SeqCst), 3);
    }

    // The first Ctrl-C stops a wait at once instead of at its deadline.
    #[tokio::test(start_paused = true)]
    async fn an_interrupt_stops_the_wait() {
        let address = Address::new(Kind::EcsService, "web");
        let options = Options::bounded(true, Duration::from_secs(900));
        let interrupt = options.interrupt.clone();
        let call = Call {
            address: &address,
            progress: &Quiet,
            options: &options,
        };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(7)).await;
            interrupt.trigger();
        });
        let started = Instant::now();
        let err = until(&call, Duration::from_secs(5), || async {
            Ok::<_, ProviderError>(Poll::<()>::Pending("waiting for service web".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(7));
        assert!(err.message.contains("interrupted"), "{err}");
    }
}
