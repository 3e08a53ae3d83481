//! A worker node: pulls runs from the queue, runs them in the local
//! sandbox with the connectors it has loaded, records each step as it
//! ends, and acknowledges a run only once its record is durable.
//!
//! Delivery is at least once per step: a run delivered again (its worker
//! died, or stopped) resumes after its last recorded step, so only the
//! step that was in flight may run twice. Each step is logged with its run
//! id and step id, which connectors that can de-duplicate may use.
//!
//! Guards against: runs lost with a worker (unacknowledged messages are
//! delivered again after the acknowledgement deadline, which the worker
//! extends while a run is making progress), runs that never end (a run
//! delivered more than `max_deliveries` times fails with the last
//! reason), a worker taking more than it can run (each pull asks for one
//! run per free slot), and hostile messages (an unreadable message is
//! dropped with a warning, never a panic).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use async_nats::jetstream::consumer::{self, pull};
use async_nats::jetstream::{AckKind, Message};
use futures_util::StreamExt;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::escape::escape_untrusted;
use crate::queue::unsettled::Unsettled;
use crate::queue::{CONSUMER, Queue, RunMessage};
use crate::runtime::{CallContext, Connector, Runtime};
use crate::workflow::{
    self, Recorder, RunRecord, RunStatus, RunStore, Step, StepAttempt, StepObserver, StepReport, Workflow, timestamp,
};
use crate::workflow::{RunEnded, RunTakenOver};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Runs it runs at once.
    pub concurrency: usize,
    /// Deliveries of one run before it fails for good.
    pub max_deliveries: u64,
    /// This node's name, in logs.
    pub node: String,
}

/// A worker: pulls runs from a [`Queue`] and runs them with a [`Runtime`].
pub struct Worker {
    runtime: Runtime,
    queue: Queue,
    store: RunStore,
    options: WorkerOptions,
    metrics: WorkerMetrics,
    /// Set on shutdown: runs stop before their next step.
    stopping: AtomicBool,
    /// Runs taken and not yet settled with the queue, or settled by a
    /// message the queue has not confirmed: what a stop without the queue
    /// leaves for their acknowledgement deadline to bring back.
    unsettled: Unsettled,
}

/// What a worker counts.
struct WorkerMetrics {
    registry: Registry,
    taken: Counter,
    redelivered: Counter,
    succeeded: Counter,
    failed: Counter,
    requeued: Counter,
    in_flight: Gauge,
}

impl WorkerMetrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("connector_host_worker");
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let taken = counter("runs_taken", "Run deliveries this worker took");
        let redelivered = counter("runs_redelivered", "Deliveries of runs that had been delivered before");
        let succeeded = counter("runs_succeeded", "Runs this worker finished successfully");
        let failed = counter("runs_failed", "Runs this worker ended as failed");
        let requeued = counter("runs_requeued", "Runs handed back to the queue to be tried again");
        let in_flight = Gauge::default();
        registry.register("runs_in_flight", "Runs running on this worker now", in_flight.clone());
        WorkerMetrics { registry, taken, redelivered, succeeded, failed, requeued, in_flight }
    }
}

/// How one delivery of a run ended, for the queue.
enum Settle {
    /// Done for good (succeeded, or failed beyond trying again).
    Ack,
    /// Hand it back, to be delivered again after the delay.
    Retry(Duration, String),
    /// A message that is not a run: drop it.
    Drop,
    /// A later delivery of the run has taken it over (this one's
    /// acknowledgement deadline passed while it ran): it is that
    /// delivery's to settle.
    Abandon,
}

impl Worker {
    pub fn new(runtime: Runtime, queue: Queue, options: WorkerOptions) -> Worker {
        let store = RunStore::Shared(queue.records().clone());
        let unsettled = Unsettled::new(ack_wait(&runtime));
        Worker {
            runtime,
            queue,
            store,
            options,
            metrics: WorkerMetrics::new(),
            stopping: AtomicBool::new(false),
            unsettled,
        }
    }

    /// The host's and the worker's metrics, in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.runtime.host().metrics_text_with(&self.metrics.registry)
    }

    /// Pulls and runs runs until `shutdown` completes; then stops pulling,
    /// hands back what it took but did not start, lets each run in flight
    /// finish its current step, records it and hands the rest back, and
    /// returns. Within the invocation deadline and 12 s, whatever the queue
    /// does (2 s for the last pull, 5 s past the deadline for the runs in
    /// flight, 5 s for the last flush): when it cannot be reached, the
    /// error names the runs
    /// it could not hand back (the queue delivers them again once their
    /// acknowledgement deadline passes).
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let mut consumer = self.consumer().await?;
        let ack_wait = consumer.cached_info().config.ack_wait;
        let slots = Arc::new(Semaphore::new(self.options.concurrency));
        tracing::info!(node = %self.options.node, queue = %self.queue.url(), concurrency = self.options.concurrency,
            ack_wait_ms = ack_wait.as_millis() as u64, "worker taking runs");
        let mut shutdown = std::pin::pin!(shutdown);
        while !self.is_stopping() {
            let slot = tokio::select! {
                biased;
                _ = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => slot.expect("the slots are never closed"),
            };
            // One pull asks for a run for each slot free now, and no more:
            // a run waiting in this worker's buffer would pass its deadline
            // unextended and go to another worker too.
            let mut free = vec![slot];
            while let Ok(slot) = slots.clone().try_acquire_owned() {
                free.push(slot);
            }
            let pulled = tokio::select! {
                biased;
                _ = &mut shutdown => break,
                pulled = open_pull(&consumer, free.len()) => pulled,
            };
            let failure = match pulled {
                Ok(pull) => self.start_pulled(pull, free, shutdown.as_mut(), ack_wait).await,
                Err(e) => Some(e),
            };
            if let Some(e) = failure
                && !self.is_stopping()
            {
                tracing::warn!(error = %format!("{e:#}"), "pulling from the queue failed; trying again");
                // The consumer may have been deleted: make it again. A
                // queue that cannot be reached must not hold a stop.
                let reopen = async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    self.consumer().await
                };
                tokio::select! {
                    biased;
                    _ = &mut shutdown => break,
                    reopened = reopen => match reopened {
                        Ok(reopened) => consumer = reopened,
                        Err(e) => tracing::warn!(error = %format!("{e:#}"), "could not open the queue's consumer"),
                    },
                }
            }
        }
        tracing::info!("stopping: no new runs; runs in flight stop after their current step");
        self.stopping.store(true, Ordering::Relaxed);
        let grace = self.runtime.host().invocation_timeout() + Duration::from_secs(5);
        let drained = slots.acquire_many(self.options.concurrency as u32);
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "runs still in flight after the grace period");
        }
        // Runs handed back are messages queued on the connection: send
        // them before the process ends (a flush is answered once the queue
        // has read everything before it), so they do not wait for the
        // acknowledgement deadline; a queue that cannot be reached gets a
        // few seconds.
        let flushing = Instant::now();
        if tokio::time::timeout(LAST_FLUSH, self.queue.jetstream.client().flush()).await.is_ok_and(|f| f.is_ok()) {
            self.unsettled.confirmed_up_to(flushing);
        }
        let unsettled = self.unsettled.names();
        if !unsettled.is_empty() {
            anyhow::bail!(
                "stopped without handing back {} run(s), the queue could not be reached: {}; the queue delivers \
                 them again once their acknowledgement deadline passes",
                unsettled.len(),
                unsettled.join(", ")
            );
        }
        Ok(())
    }

    /// Starts each run `pull` brings on one of the `free` slots until the
    /// pull ends. Once `shutdown` completes, runs in flight stop after
    /// their current step at once, and what the pull still brings goes
    /// back unstarted, for another worker. Says why the pull failed, if it
    /// did.
    async fn start_pulled(
        self: &Arc<Self>,
        mut pull: pull::Batch,
        mut free: Vec<OwnedSemaphorePermit>,
        mut shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
        ack_wait: Duration,
    ) -> Option<anyhow::Error> {
        loop {
            let next = tokio::select! {
                biased;
                _ = shutdown.as_mut(), if !self.is_stopping() => {
                    self.stopping.store(true, Ordering::Relaxed);
                    continue;
                }
                next = pull.next() => next,
                // A pull outlives its expiry only when the queue is out of
                // reach: what it would still bring is not this worker's
                // (the queue delivers it again after the deadline).
                _ = tokio::time::sleep(2 * PULL_OPEN), if self.is_stopping() => None,
            };
            let message = match next {
                None => return None,
                Some(Err(e)) => return Some(anyhow::anyhow!("could not pull from the queue: {e}")),
                Some(Ok(message)) => message,
            };
            // No slot: the worker is stopping (or the server sent more runs
            // than were asked for).
            match free.pop().filter(|_| !self.is_stopping()) {
                Some(slot) => {
                    let worker = self.clone();
                    tokio::spawn(async move {
                        worker.take(message, ack_wait).await;
                        drop(slot);
                    });
                }
                None => {
                    let run = serde_json::from_slice::<RunMessage>(&message.payload).ok();
                    let sent = hand_back(&message).await;
                    if let Some(run) = &run {
                        match sent {
                            true => self.unsettled.sent(&run.id),
                            false => self.unsettled.failed(&run.id),
                        }
                    }
                }
            }
        }
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// The durable consumer every worker pulls from, made if missing.
    async fn consumer(&self) -> anyhow::Result<consumer::Consumer<pull::Config>> {
        let ack_wait = ack_wait(&self.runtime);
        let config = pull::Config {
            durable_name: Some(CONSUMER.to_owned()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait,
            // The worker bounds deliveries itself, so that a run past the
            // bound is recorded as failed, not left waiting.
            max_deliver: -1,
            ..Default::default()
        };
        self.queue.stream.get_or_create_consumer(CONSUMER, config).await.context("could not open the queue's consumer")
    }

    /// Takes one delivery of a run: runs it, keeping the delivery alive
    /// meanwhile, and settles it with the queue.
    async fn take(&self, message: Message, ack_wait: Duration) {
        let delivered = message.info().map(|info| info.delivered.max(1) as u64).unwrap_or(1);
        let run = serde_json::from_slice::<RunMessage>(&message.payload);
        if let Ok(run) = &run {
            self.unsettled.hold(&run.id);
        }
        self.metrics.taken.inc();
        if delivered > 1 {
            self.metrics.redelivered.inc();
        }
        self.metrics.in_flight.inc();
        let settle = {
            let keep_alive = async {
                let mut ticks = tokio::time::interval(ack_wait / 3);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    if let Err(e) = message.ack_with(AckKind::Progress).await {
                        tracing::warn!(error = %e, "could not extend a run's delivery");
                    }
                }
            };
            let settle = async {
                match run.as_ref() {
                    Ok(run) => {
                        let span = tracing::info_span!("run", id = %escape_untrusted(&run.id), delivery = delivered);
                        tracing::Instrument::instrument(self.run_delivery(run, delivered), span).await
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "dropped a queue message that is not a run");
                        Settle::Drop
                    }
                }
            };
            tokio::select! {
                settle = settle => settle,
                never = keep_alive => never,
            }
        };
        self.metrics.in_flight.dec();
        let id = run.as_ref().ok().map(|run| run.id.as_str());
        match settle {
            // An acknowledgement is a request: answered once the queue has
            // it, and with it every message this worker sent before.
            Settle::Ack => {
                let asked = Instant::now();
                match message.double_ack().await {
                    Ok(()) => {
                        self.unsettled.confirmed_up_to(asked);
                        id.inspect(|id| self.unsettled.settled(id));
                    }
                    Err(e) => {
                        // The run is recorded as ended: a delivery again
                        // finds it so.
                        tracing::warn!(error = %e, "could not settle a run with the queue");
                        id.inspect(|id| self.unsettled.failed(id));
                    }
                }
            }
            Settle::Retry(delay, reason) => {
                // The reason may quote the workflow (a connector's name).
                tracing::warn!(delivery = delivered, reason = %escape_untrusted(&reason), "handing a run back to the queue");
                self.metrics.requeued.inc();
                self.handed_back(id, message.ack_with(AckKind::Nak(Some(delay))).await);
            }
            Settle::Drop => self.handed_back(id, message.ack_with(AckKind::Term).await),
            Settle::Abandon => {
                id.inspect(|id| self.unsettled.settled(id));
            }
        }
    }

    /// Notes whether the message settling run `id` (handing it back or
    /// dropping it, unanswered) was sent.
    fn handed_back<E: std::fmt::Display>(&self, id: Option<&str>, sent: Result<(), E>) {
        let Some(id) = id else { return };
        match sent {
            Ok(()) => self.unsettled.sent(id),
            Err(e) => {
                // The record says where the run is: a delivery again
                // resumes it.
                tracing::warn!(error = %e, "could not settle a run with the queue");
                self.unsettled.failed(id);
            }
        }
    }

    /// Runs delivery `delivered` of the run `message` carries and says how
    /// to settle it.
    async fn run_delivery(&self, message: &RunMessage, delivered: u64) -> Settle {
        let records = self.queue.records();
        let mut record = match records.get(&message.id).await {
            Ok(Some(record)) => record,
            // Its record expired or was never written: start one.
            Ok(None) => match crate::workflow::is_run_id(&message.id) {
                true => RunRecord {
                    id: message.id.clone(),
                    workflow: String::new(),
                    status: RunStatus::Queued,
                    started_at: timestamp(SystemTime::now()),
                    finished_at: None,
                    inputs: None,
                    workflow_version: None,
                    steps: Vec::new(),
                    error: None,
                    deliveries: None,
                    tries: Vec::new(),
                },
                false => {
                    tracing::warn!("dropped a queue message whose run id is not one");
                    return Settle::Drop;
                }
            },
            Err(e) => return Settle::Retry(Duration::from_secs(1), format!("{e:#}")),
        };
        if record.status.is_finished() {
            // Delivered again after it was recorded as finished (the
            // acknowledgement was lost): nothing left to do.
            return Settle::Ack;
        }
        // The queue's count of deliveries does not always grow when a
        // run is handed back (nats-server 2.9 redelivers a message handed
        // back without delay as its first delivery); the record's does.
        let delivered = delivered.max(record.deliveries.unwrap_or(0) + 1);
        record.deliveries = Some(delivered);
        if delivered > self.options.max_deliveries {
            let last = record.error.take().unwrap_or_else(|| "its worker stopped before it ended".to_owned());
            let reason = format!("gave up after {} deliveries: {last}", delivered - 1);
            return self.finish(record, RunStatus::Failed, Some(reason)).await;
        }
        let workflow: Workflow = match serde_json::from_str(message.workflow.get())
            .map_err(anyhow::Error::from)
            .and_then(|workflow: Workflow| workflow.check().map(|()| workflow))
        {
            Ok(workflow) => workflow,
            Err(e) => {
                return self.finish(record, RunStatus::Failed, Some(format!("not a valid workflow: {e:#}"))).await;
            }
        };
        if record.workflow.is_empty() {
            record.workflow = workflow.name.clone();
        }
        let inputs = match workflow.accept_inputs(message.inputs.as_ref()) {
            Ok(inputs) => inputs,
            // Not the checker's words, which quote the values (secrets
            // among them): they were checked when the run was submitted.
            Err(_) => {
                let reason = "its inputs do not match the workflow's inputs schema".to_owned();
                return self.finish(record, RunStatus::Failed, Some(reason)).await;
            }
        };
        let connectors = match self.prepare(&workflow) {
            Ok(connectors) => connectors,
            Err(reason) => return self.try_again(record, delivered, reason).await,
        };
        // Resume after the steps recorded in full; any after them ran
        // with a worker that stopped, or failed, and run again (their
        // tries stay in the record, to number the next ones).
        let done = record.steps.iter().take_while(|step| step.output_recorded_in_full()).count();
        record.steps.truncate(done);
        record.status = RunStatus::Running;
        record.error = None;
        if let Err(e) = records.put(&record).await {
            return write_failed(e);
        }
        if done > 0 {
            tracing::info!(steps_done = done, "resuming a run after its recorded steps");
        }
        let done_steps = record.steps.clone();
        let context = CallContext { run_id: Some(record.id.clone()), ..CallContext::default() };
        let mut observer = Logged(Recorder::new(&self.store, &mut record, Some(&self.stopping)));
        let reports =
            workflow::resume(self.runtime.host(), &workflow, &connectors, &inputs, done_steps, &context, &mut observer)
                .await;
        if let Some(e) = observer.0.write_error() {
            // The record stops at the last step it holds; the next
            // delivery resumes there.
            return write_failed(e);
        }
        match reports.last() {
            Some(last) if last.stopped_run() => {
                let reason = step_failure(last);
                // A step with a retry policy of its own has had its tries:
                // the queue does not add more.
                let own_policy =
                    workflow.steps.iter().any(|step| step.id == last.id && step.on_error.retry().is_some());
                if is_retryable(last) && !own_policy {
                    self.try_again(record, delivered, reason).await
                } else {
                    self.finish(record, RunStatus::Failed, None).await
                }
            }
            _ if reports.len() < workflow.steps.len() => {
                // Stopped by a shutdown: hand the rest to another worker.
                record.status = RunStatus::Queued;
                if let Err(e) = records.put(&record).await {
                    return write_failed(e);
                }
                // Not at once: this worker's last pull may still be open
                // and would take it straight back.
                Settle::Retry(PULL_OPEN, "this worker is stopping".to_owned())
            }
            _ => self.finish(record, RunStatus::Succeeded, None).await,
        }
    }

    /// The connectors `workflow` needs, as this worker has them loaded,
    /// or why it cannot run it.
    fn prepare(&self, workflow: &Workflow) -> Result<BTreeMap<String, Connector>, String> {
        let connectors = workflow::pin_connectors(&self.runtime, workflow)
            .map_err(|name| format!("connector `{}` is not loaded on worker {}", name, self.options.node))?;
        workflow::check_authentications(self.runtime.host(), workflow, &connectors)
            .map_err(|(step, e)| format!("step `{}`: {e}", step.id))?;
        Ok(connectors)
    }

    /// Hands the run back to be tried again after a delay growing with
    /// each delivery, or fails it when this was the last delivery.
    async fn try_again(&self, mut record: RunRecord, delivered: u64, reason: String) -> Settle {
        if delivered >= self.options.max_deliveries {
            let reason = format!("gave up after {delivered} deliveries: {reason}");
            return self.finish(record, RunStatus::Failed, Some(reason)).await;
        }
        record.status = RunStatus::Queued;
        record.error = Some(bounded_reason(&reason));
        if let Err(e) = self.queue.records().put(&record).await {
            return write_failed(e);
        }
        let delay = Duration::from_millis(500 * (1 << delivered.min(6)));
        Settle::Retry(delay, reason)
    }

    /// Records how the run ended; the delivery is done once that is
    /// durable.
    async fn finish(&self, mut record: RunRecord, status: RunStatus, error: Option<String>) -> Settle {
        record.status = status;
        record.error = error.as_deref().map(bounded_reason);
        record.finished_at = Some(timestamp(SystemTime::now()));
        if let Err(e) = self.store.finish(&record).await {
            return write_failed(e.context("could not record the end of the run"));
        }
        match status {
            RunStatus::Succeeded => self.metrics.succeeded.inc(),
            _ => self.metrics.failed.inc(),
        };
        tracing::info!(status = status.as_str(), steps = record.steps.len(), "run ended");
        Settle::Ack
    }
}

/// How long a flush waits for the queue (to confirm a run handed back, or
/// at the end of a stop).
const LAST_FLUSH: Duration = Duration::from_secs(5);

/// How long the queue waits for a delivery to be settled: long enough for
/// one step, and extended while a run makes progress, so only a worker
/// that stopped lets it lapse.
fn ack_wait(runtime: &Runtime) -> Duration {
    runtime.host().invocation_timeout() + Duration::from_secs(5)
}

/// How to settle a delivery whose record could not be written: done, if
/// another delivery of the run has recorded its end (this one is a
/// duplicate); else tried again, to resume from what is recorded.
fn write_failed(error: anyhow::Error) -> Settle {
    if error.chain().any(|cause| cause.is::<RunEnded>()) {
        tracing::warn!("the run was finished by another delivery; this one stops");
        return Settle::Ack;
    }
    if error.chain().any(|cause| cause.is::<RunTakenOver>()) {
        tracing::warn!("a later delivery of the run has taken it over; this one stops");
        return Settle::Abandon;
    }
    Settle::Retry(Duration::from_secs(1), format!("{error:#}"))
}

/// Most characters of a reason a record keeps (a service's error message
/// can be long; a record must fit one message).
const MAX_REASON_CHARS: usize = 4096;

fn bounded_reason(reason: &str) -> String {
    crate::escape::truncate_chars(reason, MAX_REASON_CHARS).into_owned()
}

/// A recorder that also logs each step as it starts, with the run's id
/// (from the span) and the step's, so a step run twice can be told.
struct Logged<'a>(Recorder<'a>);

impl StepObserver for Logged<'_> {
    fn step_ended(&mut self, index: usize, report: &StepReport) -> impl Future<Output = ()> + Send {
        self.0.step_ended(index, report)
    }

    async fn step_starting(&mut self, index: usize, step: &Step) -> Option<StepAttempt> {
        let attempt = self.0.step_starting(index, step).await?;
        // Step ids are checked names; operations are whatever the workflow
        // says.
        tracing::info!(step = %step.id, index, attempt = attempt.number,
            operation = %escape_untrusted(&step.operation), "starting step");
        Some(attempt)
    }

    fn try_failed(&mut self, index: usize, may_have_taken_effect: bool) {
        tracing::info!(index, may_have_taken_effect, "a try of the step failed; its retry policy tries again");
        self.0.try_failed(index, may_have_taken_effect);
    }

    fn stop_before_next(&self) -> bool {
        self.0.stop_before_next()
    }
}

/// What failed in a failed step, in one line.
fn step_failure(report: &StepReport) -> String {
    let error = match &report.outcome {
        crate::workflow::StepOutcome::Error(error) => error,
        crate::workflow::StepOutcome::Output(_) | crate::workflow::StepOutcome::Skipped(_) => &Value::Null,
    };
    let message = error.get("message").and_then(Value::as_str).unwrap_or("failed");
    format!("step `{}` failed: {message}", report.id)
}

/// How long a pull stays open for runs to come. Slots that free up
/// meanwhile wait for the next pull, so it is short.
const PULL_OPEN: Duration = Duration::from_secs(1);

/// A pull of at most `runs` runs from the queue, open for [`PULL_OPEN`]:
/// the runs as they come.
async fn open_pull(consumer: &consumer::Consumer<pull::Config>, runs: usize) -> anyhow::Result<pull::Batch> {
    consumer.batch().max_messages(runs).expires(PULL_OPEN).messages().await.context("could not pull from the queue")
}

/// Hands a run this worker will not start back to the queue, for another
/// delivery once this worker's open pull has expired (it would otherwise
/// take the run straight back); says whether it was sent.
async fn hand_back(message: &Message) -> bool {
    match message.ack_with(AckKind::Nak(Some(PULL_OPEN))).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "could not hand a run back to the queue");
            false
        }
    }
}

/// Whether a failed step may succeed if tried again later: the service
/// said so, the request did not get through, or the host was busy or out
/// of time. Errors in the input or the connector fail the run at once.
fn is_retryable(report: &StepReport) -> bool {
    let crate::workflow::StepOutcome::Error(error) = &report.outcome else { return false };
    match error.get("kind").and_then(Value::as_str) {
        Some("service") => error.get("retryable").and_then(Value::as_bool) == Some(true),
        Some("capability") => error.get("reason").and_then(Value::as_str) == Some("transport"),
        Some("busy" | "timeout" | "host") => true,
        _ => false,
    }
}
