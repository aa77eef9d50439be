//! The shared client-side rate limit: at most N upstream requests in any
//! sliding minute, across all plugins and calls. A sliding log (rather than a
//! bucket) is exact: never a burst past N in a minute, and no idle gap while
//! capacity is free. A 429's Retry-After pauses everyone, since Graph
//! throttles per app and tenant, not per call.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(60);

pub struct RateLimiter {
    max_per_minute: Option<usize>,
    state: Mutex<State>,
}

struct State {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl RateLimiter {
    /// `None` disables the limit (RATE_LIMIT_ENABLED=false); Retry-After
    /// pauses still apply.
    pub fn new(max_per_minute: Option<u32>) -> RateLimiter {
        RateLimiter {
            max_per_minute: max_per_minute.map(|m| m.max(1) as usize),
            state: Mutex::new(State {
                sent: VecDeque::new(),
                paused_until: None,
            }),
        }
    }

    /// Waits for a slot and takes it. Returns how long it waited.
    pub async fn acquire(&self, weight: u32) -> Duration {
        // A batch larger than the whole budget waits for an empty window.
        let weight = match self.max_per_minute {
            Some(max) => (weight.max(1) as usize).min(max),
            None => 1,
        };
        let started = Instant::now();
        loop {
            let wait_until = {
                let mut st = self.state.lock().await;
                let now = Instant::now();
                if let Some(p) = st.paused_until
                    && p <= now
                {
                    st.paused_until = None;
                }
                while st
                    .sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= WINDOW)
                {
                    st.sent.pop_front();
                }
                match (st.paused_until, self.max_per_minute) {
                    (Some(p), _) => p,
                    (None, Some(max)) if st.sent.len() + weight > max => {
                        st.sent[st.sent.len() + weight - max - 1] + WINDOW
                    }
                    _ => {
                        if self.max_per_minute.is_some() {
                            st.sent.extend(std::iter::repeat_n(now, weight));
                        }
                        return started.elapsed();
                    }
                }
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// Holds every request back until `after` has passed.
    pub async fn pause(&self, after: Duration) {
        let mut st = self.state.lock().await;
        let until = Instant::now() + after;
        st.paused_until = Some(st.paused_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_a_minute() {
        let rl = RateLimiter::new(Some(3));
        let start = Instant::now();
        for _ in 0..3 {
            rl.acquire(1).await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "first three go at once"
        );
        rl.acquire(1).await;
        assert!(start.elapsed() >= WINDOW, "the fourth waits for the window");
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_takes_a_slot_per_request() {
        let rl = RateLimiter::new(Some(10));
        let start = Instant::now();
        rl.acquire(8).await;
        rl.acquire(2).await;
        assert!(start.elapsed() < Duration::from_millis(1), "ten fit");
        rl.acquire(1).await;
        assert!(start.elapsed() >= WINDOW, "the eleventh waits");
        // Larger than the whole budget: waits for an empty window, no longer.
        let before = Instant::now();
        rl.acquire(50).await;
        assert!(before.elapsed() <= WINDOW, "{:?}", before.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_everyone_back() {
        let rl = RateLimiter::new(None);
        rl.pause(Duration::from_secs(2)).await;
        let waited = rl.acquire(1).await;
        assert!(waited >= Duration::from_secs(2));
        assert!(rl.acquire(1).await < Duration::from_millis(1));
    }
}
