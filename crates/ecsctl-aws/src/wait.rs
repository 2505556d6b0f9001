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

/// Poll `check` every `interval` (growing to at most 4× it) until it returns `Done`, an
/// error, or `call.options.wait_timeout` passes, reporting progress on each pending poll.
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
                if Instant::now() + delay > deadline {
                    return Err(ProviderError::new(
                        ErrorClass::Timeout,
                        format!("gave up after {elapsed}s: {what}"),
                    ));
                }
                call.progress
                    .note(call.address, &format!("{what} ({elapsed}s)"));
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(interval * 4);
    }
}
