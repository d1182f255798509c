//! The background worker of `crowdfund serve`: fans out and claims on a timer, and sends each
//! claimed delivery in its own task.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use tokio::task::JoinSet;

use super::delivery::{Dispatcher, MAX_IN_FLIGHT};
use crate::domain::CoreError;

pub struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Fans out and claims every `interval`, and as soon as a send ends (the endpoint may have
    /// room for its next delivery), until [`Worker::stop`].
    pub fn spawn(dispatcher: Arc<Dispatcher>, interval: StdDuration) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut sends: JoinSet<Result<(), CoreError>> = JoinSet::new();
            loop {
                if let Err(e) = dispatcher.fan_out().await {
                    tracing::warn!(error = ?e, "webhook fan-out failed; will try again");
                }
                let room = MAX_IN_FLIGHT.saturating_sub(sends.len());
                if room > 0 {
                    match dispatcher.claim(room).await {
                        Ok(claimed) => {
                            for c in claimed {
                                let d = Arc::clone(&dispatcher);
                                sends.spawn(async move { d.deliver(c).await });
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = ?e, "claiming webhook deliveries failed; will try again")
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    Some(done) = sends.join_next(), if !sends.is_empty() => {
                        if let Ok(Err(e)) = done {
                            tracing::warn!(error = ?e, "recording a webhook delivery failed; its lease will run out and it is sent again");
                        }
                    }
                    _ = stopped.changed() => break,
                }
            }
            while sends.join_next().await.is_some() {}
        });
        Self { stop, task }
    }

    /// Lets the deliveries in flight finish, then stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
