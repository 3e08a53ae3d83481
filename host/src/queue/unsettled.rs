//! The runs a worker holds that the queue has not confirmed as settled:
//! what a stop names when it cannot reach the queue. A run leaves once the
//! queue confirms its settlement (an acknowledgement is answered; a run
//! handed back is confirmed by any later answer on the same connection,
//! which the queue reads in order), or an acknowledgement deadline after
//! its settlement was sent or failed: by then the queue has delivered it
//! again, to whichever worker pulls it, and it is no longer this one's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::escape::escape_untrusted;

/// Where a run taken by this worker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Running here.
    Running,
    /// Handed back (or dropped) by a message sent then, not yet confirmed.
    Sent(Instant),
    /// Its settlement could not be sent, or not confirmed, then.
    Failed(Instant),
}

/// Run ids (escaped for a log line) and where each is.
pub(crate) struct Unsettled {
    runs: Mutex<HashMap<String, Held>>,
    /// How long the queue waits for a settlement before delivering again.
    ack_wait: Duration,
}

impl Unsettled {
    pub(crate) fn new(ack_wait: Duration) -> Self {
        Unsettled { runs: Mutex::default(), ack_wait }
    }

    /// Run `id` is running here.
    pub(crate) fn hold(&self, id: &str) {
        let mut runs = self.runs.lock().expect("unsettled lock");
        runs.retain(|_, held| !self.lapsed(*held));
        runs.insert(escape_untrusted(id).into_owned(), Held::Running);
    }

    /// Run `id` was handed back by a message sent now.
    pub(crate) fn sent(&self, id: &str) {
        self.set(id, Held::Sent(Instant::now()));
    }

    /// The settlement of run `id` could not be sent or confirmed.
    pub(crate) fn failed(&self, id: &str) {
        self.set(id, Held::Failed(Instant::now()));
    }

    /// The queue confirmed run `id` settled (or another delivery owns it).
    pub(crate) fn settled(&self, id: &str) {
        self.runs.lock().expect("unsettled lock").remove(escape_untrusted(id).as_ref());
    }

    /// The queue answered a request sent at `at`: every message sent
    /// before it reached the queue.
    pub(crate) fn confirmed_up_to(&self, at: Instant) {
        self.runs.lock().expect("unsettled lock").retain(|_, held| !matches!(held, Held::Sent(sent) if *sent <= at));
    }

    /// The runs still this worker's, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        let runs = self.runs.lock().expect("unsettled lock");
        let mut names: Vec<String> =
            runs.iter().filter(|(_, held)| !self.lapsed(**held)).map(|(id, _)| id.clone()).collect();
        names.sort_unstable();
        names
    }

    fn set(&self, id: &str, held: Held) {
        self.runs.lock().expect("unsettled lock").insert(escape_untrusted(id).into_owned(), held);
    }

    /// Whether the queue has delivered the run again by now, whatever
    /// became of its settlement.
    fn lapsed(&self, held: Held) -> bool {
        match held {
            Held::Running => false,
            Held::Sent(at) | Held::Failed(at) => at.elapsed() >= self.ack_wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_leave_when_confirmed_or_when_the_queue_has_delivered_them_again() {
        let unsettled = Unsettled::new(Duration::from_millis(200));
        for id in ["a\u{1b}[31m", "b", "c", "d"] {
            unsettled.hold(id);
        }
        unsettled.settled("c");
        assert_eq!(unsettled.names(), ["a\\u{1b}[31m", "b", "d"], "escaped, sorted, settled ones gone");
        unsettled.sent("b");
        let answered = Instant::now();
        unsettled.sent("d");
        unsettled.confirmed_up_to(answered);
        assert_eq!(unsettled.names(), ["a\\u{1b}[31m", "d"], "a later answer confirms what was sent before it");
        unsettled.failed("d");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(unsettled.names(), ["a\\u{1b}[31m"], "still running here, however long; d delivered again");
        unsettled.hold("e");
        assert_eq!(unsettled.runs.lock().unwrap().len(), 2, "lapsed ones are pruned as new runs come");
    }
}
