//! Scaling out over NATS JetStream: `serve` nodes publish runs to a
//! work-queue stream, `worker` nodes pull and run them, and run records
//! live in key-value buckets every node reads ([`SharedRunStore`], kept by
//! `workflow`).
//!
//! Guards against: losing a run when a worker dies (a run's message is
//! acknowledged only once its record is durable, and is delivered again
//! after the acknowledgement deadline), running finished steps again (a
//! run delivered again resumes after its last recorded step), unbounded
//! pending work (the stream holds at most `max_pending` runs and refuses
//! more, which callers see as 503), and runs that can never finish
//! (deliveries are bounded, then the run fails with the reason).

mod unsettled;
mod worker;

use std::sync::Arc;

use anyhow::Context;
use async_nats::jetstream::{self, stream};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

pub use crate::workflow::{ExistingBounds, RunEnded, SharedRunStore};
pub use worker::{Worker, WorkerOptions};

use crate::workflow::{RunRecord, StoreLimits};

/// The stream runs wait in.
const STREAM: &str = "CONNECTOR_HOST_RUNS";
/// The subject runs are published on.
const SUBJECT: &str = "connector-host.runs";
/// The durable consumer every worker pulls from, so each run goes to one.
const CONSUMER: &str = "connector-host-workers";

/// Runs the stream holds (waiting or running) when no node says otherwise.
pub const DEFAULT_MAX_PENDING: usize = 10_000;

/// What a queue holds: runs waiting or running, and run records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueBounds {
    /// Runs the stream holds, waiting or running; more are refused.
    pub max_pending: usize,
    /// What the shared run records keep.
    pub records: StoreLimits,
}

impl Default for QueueBounds {
    fn default() -> Self {
        QueueBounds { max_pending: DEFAULT_MAX_PENDING, records: StoreLimits::default() }
    }
}

/// What a run's message carries: the run's id, the workflow as submitted
/// and the run's inputs (none for a workflow that declares none).
#[derive(Serialize, Deserialize)]
struct RunMessage {
    id: String,
    workflow: Box<RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inputs: Option<Value>,
}

/// A connection to the queue's stream and run records.
#[derive(Clone)]
pub struct Queue {
    url: String,
    jetstream: jetstream::Context,
    stream: stream::Stream,
    records: SharedRunStore,
    metrics: Arc<SubmitMetrics>,
}

/// What a node that queues runs counts.
struct SubmitMetrics {
    registry: Registry,
    submitted: Counter,
    refused: Counter,
}

impl SubmitMetrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("connector_host_queue");
        let (submitted, refused) = (Counter::default(), Counter::default());
        registry.register("runs_submitted", "Runs this node put on the queue", submitted.clone());
        registry.register(
            "runs_refused",
            "Runs the queue did not take (full, too large, unavailable)",
            refused.clone(),
        );
        SubmitMetrics { registry, submitted, refused }
    }
}

/// Why a run could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The stream holds as many runs as it may.
    #[error("the queue is full: {0} runs are waiting or running")]
    Full(usize),
    /// The workflow is larger than a queue message may be.
    #[error("the workflow is too large for the queue: {0}")]
    TooLarge(String),
    /// The queue did not take the run.
    #[error("the queue did not take the run: {0:#}")]
    Unavailable(anyhow::Error),
}

impl Queue {
    /// Connects to the NATS server at `url` (`nats://HOST:PORT`) as `node`,
    /// and opens the stream and the run records within `bounds`, creating
    /// them when they do not exist; `existing` says whether this node sets
    /// the bounds of ones that do.
    pub async fn connect(
        url: &str,
        node: &str,
        bounds: QueueBounds,
        existing: ExistingBounds,
    ) -> anyhow::Result<Queue> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("connector-host {node}"))
            .connect(url)
            .await
            .with_context(|| format!("could not connect to the queue at {url}"))?;
        let jetstream = jetstream::new(client);
        let config = stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![SUBJECT.to_owned()],
            retention: stream::RetentionPolicy::WorkQueue,
            discard: stream::DiscardPolicy::New,
            max_messages: bounds.max_pending as i64,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        let mut stream = jetstream
            .get_or_create_stream(config.clone())
            .await
            .with_context(|| format!("could not open the stream {STREAM} at {url} (is JetStream on?)"))?;
        if existing == ExistingBounds::Replace && stream.cached_info().config.max_messages != config.max_messages {
            let mut updated = stream.cached_info().config.clone();
            updated.max_messages = config.max_messages;
            jetstream.update_stream(updated).await.context("could not set the queue's bound")?;
            stream = jetstream.get_stream(STREAM).await.context("could not open the queue's stream")?;
        }
        let records = SharedRunStore::open(&jetstream, bounds.records, existing).await?;
        Ok(Queue { url: url.to_owned(), jetstream, stream, records, metrics: Arc::new(SubmitMetrics::new()) })
    }

    /// The stored workflows every node of the queue shares.
    pub async fn workflows(&self) -> anyhow::Result<crate::workflow::WorkflowLibrary> {
        crate::workflow::WorkflowLibrary::open_shared(&self.jetstream).await
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What this node counts of the runs it queued.
    pub(crate) fn registry(&self) -> &Registry {
        &self.metrics.registry
    }

    /// The run records every node shares.
    pub fn records(&self) -> &SharedRunStore {
        &self.records
    }

    /// Records `record` (queued) and publishes it with `workflow`, the
    /// workflow's JSON as submitted, and the run's `inputs`, for a worker
    /// to run.
    pub async fn submit(
        &self,
        record: &RunRecord,
        workflow: &RawValue,
        inputs: Option<&Value>,
    ) -> Result<(), SubmitError> {
        let message = RunMessage { id: record.id.clone(), workflow: workflow.to_owned(), inputs: inputs.cloned() };
        let message = serde_json::to_vec(&message).map_err(|e| SubmitError::Unavailable(e.into()))?;
        self.records.put(record).await.map_err(SubmitError::Unavailable)?;
        // Publishing again after an unclear failure (a lost
        // acknowledgement) stores the run once: the stream drops a second
        // message with the same id.
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", record.id.as_str());
        let mut last_error = None;
        for _ in 0..3 {
            let published =
                match self.jetstream.publish_with_headers(SUBJECT, headers.clone(), message.clone().into()).await {
                    Ok(acknowledgement) => acknowledgement.await,
                    Err(e) => Err(e),
                };
            let error = match published {
                Ok(_) => {
                    self.metrics.submitted.inc();
                    return Ok(());
                }
                Err(error) => error,
            };
            let refused = match error.kind() {
                jetstream::context::PublishErrorKind::MaxPayloadExceeded => SubmitError::TooLarge(error.to_string()),
                // JetStream's "maximum messages exceeded" (10077) when the
                // stream is full and refuses new messages.
                _ if error.to_string().contains("maximum messages") => {
                    SubmitError::Full(self.stream.cached_info().config.max_messages.max(0) as usize)
                }
                _ => {
                    last_error = Some(error);
                    continue;
                }
            };
            self.metrics.refused.inc();
            // Refused for sure: the caller learns the run was not taken,
            // and no record of it is kept.
            if let Err(e) = self.records.forget(&record.id).await {
                tracing::warn!(run = %record.id, error = %format!("{e:#}"), "could not remove a run that was not queued");
            }
            return Err(refused);
        }
        self.metrics.refused.inc();
        // Unclear: the run may be stored, so its record stays, and says
        // `queued` until a worker takes it.
        let error = last_error.map_or_else(|| anyhow::anyhow!("no answer"), anyhow::Error::new);
        Err(SubmitError::Unavailable(error.context(format!(
            "the queue did not confirm it took run {}; it may still run (see GET /v1/runs/{})",
            record.id, record.id
        ))))
    }
}
