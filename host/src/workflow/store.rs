//! Where a server records runs: its own SQLite database, or, when nodes
//! share a queue, the key-value bucket every node reads. Both keep each
//! step as it ends, before the next one starts.

use serde::Serialize;

use crate::workflow::SharedRunStore;
use crate::workflow::sqlite_store::SqliteRunStore;
use crate::workflow::{RunRecord, RunStatus, Step, StepAttempt, StepObserver, StepReport};

/// A run store. Cheap to clone.
#[derive(Clone)]
pub enum RunStore {
    /// One server's own store, in its data directory.
    Embedded(SqliteRunStore),
    /// The store every node of a queue shares.
    Shared(SharedRunStore),
}

/// How much a run store keeps. Past a bound, the oldest runs go first. The
/// embedded store never drops a run in progress; the queue's buckets drop
/// their oldest entries whatever the run's state (JetStream cannot tell),
/// so keep their bounds well above what runs at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Runs kept.
    pub keep_runs: usize,
    /// Bytes of step records one run may take; steps past it are recorded
    /// with notes in place of their input and output (and run again when a
    /// queued run resumes).
    pub max_run_bytes: usize,
    /// Bytes of step records the whole store keeps.
    pub max_store_bytes: u64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits { keep_runs: 10_000, max_run_bytes: 16 << 20, max_store_bytes: 1 << 30 }
    }
}

/// A run without its steps, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub id: String,
    pub workflow: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// How many steps have ended so far.
    pub steps: usize,
}

impl RunStore {
    /// Opens (or creates) the embedded store in `dir`, keeping what
    /// `limits` allow. Runs left `running` by a host that stopped are
    /// marked failed.
    pub fn open(dir: &std::path::Path, limits: StoreLimits) -> anyhow::Result<Self> {
        Ok(RunStore::Embedded(SqliteRunStore::open(dir, limits)?))
    }

    /// What this store keeps.
    pub fn limits(&self) -> StoreLimits {
        match self {
            RunStore::Embedded(store) => store.limits(),
            RunStore::Shared(store) => store.limits(),
        }
    }

    /// Records a new run; its steps come with [`add_step`](Self::add_step).
    pub async fn create(&self, record: &RunRecord) -> anyhow::Result<()> {
        match self {
            RunStore::Embedded(store) => store.create(record).await,
            RunStore::Shared(store) => store.put(record).await,
        }
    }

    /// `report` as this store keeps it: input, output and error each cut
    /// to what one record may hold.
    pub fn bounded(&self, report: &StepReport) -> StepReport {
        match self {
            RunStore::Embedded(_) => report.bounded(MAX_RECORDED_BYTES),
            RunStore::Shared(_) => report.bounded(SharedRunStore::MAX_RECORDED_BYTES),
        }
    }

    /// Records step `index` of `record`'s run (as
    /// [`bounded`](Self::bounded) made it).
    pub async fn add_step(&self, record: &RunRecord, index: usize, report: &StepReport) -> anyhow::Result<()> {
        match self {
            RunStore::Embedded(store) => store.add_step(&record.id, index, report).await,
            RunStore::Shared(store) => store.add_step(record, index, report).await,
        }
    }

    /// Records that a step of `record`'s run started: its
    /// [`tries`](RunRecord::tries) with the new one. The shared store
    /// keeps them, for a later delivery to know; a server's own store does
    /// not need them (a run cut short there is marked failed, never
    /// resumed).
    pub async fn step_started(&self, record: &RunRecord) -> anyhow::Result<()> {
        match self {
            RunStore::Embedded(_) => Ok(()),
            RunStore::Shared(store) => store.put(record).await,
        }
    }

    /// Records how `record` ended (its status and finish time).
    pub async fn finish(&self, record: &RunRecord) -> anyhow::Result<()> {
        let finished_at = record.finished_at.as_deref().unwrap_or_default();
        match self {
            RunStore::Embedded(store) => store.finish(&record.id, record.status, finished_at).await,
            RunStore::Shared(store) => store.put(record).await,
        }
    }

    /// The run `id` with its steps, if it is kept.
    pub async fn get(&self, id: &str) -> anyhow::Result<Option<RunRecord>> {
        match self {
            RunStore::Embedded(store) => store.get(id).await,
            RunStore::Shared(store) => store.get(id).await,
        }
    }

    /// The newest `limit` runs, newest first, without their steps.
    pub async fn list(&self, limit: usize) -> anyhow::Result<Vec<RunSummary>> {
        match self {
            RunStore::Embedded(store) => store.list(limit).await,
            RunStore::Shared(store) => store.list(limit).await,
        }
    }
}

/// Most bytes of JSON the embedded store keeps of a step's input, and of
/// its output or error; larger ones are noted, not kept.
const MAX_RECORDED_BYTES: usize = 1024 * 1024;

/// Records each step of `record` as it ends, before the next one starts,
/// and keeps the reports in `record.steps`, within the store's bound on a
/// run's bytes. A step that cannot be recorded stops the run (see
/// [`write_error`](Self::write_error)): the record would otherwise claim
/// less than what ran.
pub struct Recorder<'a> {
    store: &'a RunStore,
    record: &'a mut RunRecord,
    stop: Option<&'a std::sync::atomic::AtomicBool>,
    write_error: Option<anyhow::Error>,
    /// Bytes the run's steps take in the record so far.
    recorded_bytes: usize,
    /// The step running now, and which try of it.
    running: Option<(usize, StepAttempt)>,
}

impl<'a> Recorder<'a> {
    /// Records `record`'s steps in `store`; when `stop` is set, the run
    /// stops before its next step.
    pub fn new(
        store: &'a RunStore,
        record: &'a mut RunRecord,
        stop: Option<&'a std::sync::atomic::AtomicBool>,
    ) -> Self {
        let recorded_bytes = record.steps.iter().map(StepReport::recorded_bytes).sum();
        Recorder { store, record, stop, write_error: None, recorded_bytes, running: None }
    }

    /// Why a step could not be recorded, if one could not.
    pub fn write_error(&mut self) -> Option<anyhow::Error> {
        self.write_error.take()
    }
}

impl StepObserver for Recorder<'_> {
    fn step_ended(&mut self, index: usize, report: &StepReport) -> impl Future<Output = ()> + Send {
        // A step recorded again (a resumed run running it once more)
        // replaces what was recorded of it and of the steps after it.
        // Read before the report is bounded, which may cut its error.
        let may_have_taken_effect = report.outcome.may_have_taken_effect();
        let replaced: usize = self.record.steps.iter().skip(index).map(StepReport::recorded_bytes).sum();
        self.recorded_bytes = self.recorded_bytes.saturating_sub(replaced);
        let mut report = self.store.bounded(report);
        let max_run_bytes = self.store.limits().max_run_bytes;
        if self.recorded_bytes + report.recorded_bytes() > max_run_bytes {
            report = report.cut_for_room(max_run_bytes);
        }
        self.recorded_bytes += report.recorded_bytes();
        if let Some((running, attempt)) = self.running.take()
            && running == index
        {
            self.record.end_try(index, attempt, may_have_taken_effect);
        }
        async move {
            if let Err(e) = self.store.add_step(self.record, index, &report).await {
                tracing::error!(run = %self.record.id, error = %format!("{e:#}"), "could not record a step");
                self.write_error = Some(e);
                return;
            }
            self.record.steps.truncate(index);
            self.record.steps.push(report);
        }
    }

    fn step_starting(&mut self, index: usize, _step: &Step) -> impl Future<Output = Option<StepAttempt>> + Send {
        // Numbered from the record's tries alone: every try of the step
        // before this one, whatever became of their reports.
        let attempt = self.record.start_try(index);
        self.running = Some((index, attempt));
        async move {
            if let Err(e) = self.store.step_started(self.record).await {
                tracing::error!(run = %self.record.id, error = %format!("{e:#}"), "could not record that a step started");
                self.write_error = Some(e);
                return None;
            }
            Some(attempt)
        }
    }

    fn try_failed(&mut self, index: usize, may_have_taken_effect: bool) {
        if let Some((running, attempt)) = self.running.take()
            && running == index
        {
            self.record.end_try(index, attempt, may_have_taken_effect);
        }
    }

    fn stop_before_next(&self) -> bool {
        self.write_error.is_some() || self.stop.is_some_and(|stop| stop.load(std::sync::atomic::Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::capability::CarriedOut;
    use crate::workflow::StepOutcome;

    fn record() -> RunRecord {
        RunRecord {
            id: "r".into(),
            workflow: "w".into(),
            status: RunStatus::Running,
            started_at: "2026-12-04T00:00:00.000Z".into(),
            finished_at: None,
            inputs: None,
            workflow_version: None,
            steps: Vec::new(),
            error: None,
            deliveries: None,
            tries: Vec::new(),
        }
    }

    fn step(id: &str) -> Step {
        serde_json::from_value(json!({"id": id, "connector": "c", "operation": "op"})).unwrap()
    }

    fn ended(id: &str) -> StepReport {
        StepReport::example(id, json!({}), json!({"made": id}))
    }

    /// A failed try: `carried_out` says if a request of it may have been
    /// carried out.
    fn failed(id: &str, carried_out: CarriedOut) -> StepReport {
        let mut report = ended(id);
        report.outcome = StepOutcome::Error(json!({"kind": "busy", "message": "m"})).with_effect(carried_out);
        report
    }

    /// The tries of a run's steps, as deliveries of it (each a new
    /// recorder over what the store kept) start and end them, number every
    /// try from all the ones before it and remember any that may have
    /// taken effect, whatever became of the step reports.
    #[tokio::test]
    async fn every_try_of_a_step_is_numbered_from_all_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path(), StoreLimits::default()).unwrap();
        let mut run = record();
        store.create(&run).await.unwrap();

        // Delivery 1: step 0 ends, step 1 starts and its worker dies.
        let mut recorder = Recorder::new(&store, &mut run, None);
        assert_eq!(recorder.step_starting(0, &step("a")).await, Some(StepAttempt::FIRST));
        recorder.step_ended(0, &ended("a")).await;
        assert_eq!(recorder.step_starting(1, &step("b")).await, Some(StepAttempt::FIRST));
        drop(recorder);

        // Delivery 2: step 1 again, as a repeat; the host is busy (no
        // effect), which does not clear what the first try may have done.
        let mut recorder = Recorder::new(&store, &mut run, None);
        let second = recorder.step_starting(1, &step("b")).await.unwrap();
        assert_eq!(second, StepAttempt { number: 2, earlier_effect: true });
        recorder.step_ended(1, &failed("b", CarriedOut::No)).await;
        drop(recorder);
        run.steps.truncate(1);

        // Delivery 3: still a repeat of a try that may have taken effect.
        let mut recorder = Recorder::new(&store, &mut run, None);
        let third = recorder.step_starting(1, &step("b")).await.unwrap();
        assert_eq!(third, StepAttempt { number: 3, earlier_effect: true });
        recorder.step_ended(1, &ended("b")).await;
        // A step whose first try was turned away runs again as a plain try.
        recorder.step_starting(2, &step("c")).await.unwrap();
        recorder.step_ended(2, &failed("c", CarriedOut::No)).await;
        drop(recorder);
        let mut recorder = Recorder::new(&store, &mut run, None);
        let retried = recorder.step_starting(2, &step("c")).await.unwrap();
        assert_eq!(retried, StepAttempt { number: 2, earlier_effect: false });
        // One that failed after a request that may have gone through is
        // a repeat.
        recorder.step_ended(2, &failed("c", CarriedOut::Possibly)).await;
        drop(recorder);
        let mut recorder = Recorder::new(&store, &mut run, None);
        let after_fault = recorder.step_starting(2, &step("c")).await.unwrap();
        assert_eq!(after_fault, StepAttempt { number: 3, earlier_effect: true });
        recorder.step_ended(2, &ended("c")).await;
        drop(recorder);

        // A resume that runs steps 0 to 2 again (an output the record
        // masks is needed): each is a repeat of a try that took effect,
        // not a first try.
        run.steps.truncate(0);
        let mut recorder = Recorder::new(&store, &mut run, None);
        for (index, (id, number)) in [("a", 2), ("b", 4), ("c", 4)].into_iter().enumerate() {
            let again = recorder.step_starting(index, &step(id)).await.unwrap();
            assert_eq!(again, StepAttempt { number, earlier_effect: true }, "step {id}");
            recorder.step_ended(index, &ended(id)).await;
        }
    }
}
