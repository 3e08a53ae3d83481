//! Run records every node reads: two JetStream key-value buckets, one
//! entry per run (its status and how many steps have ended) and one per
//! step, written as the step ends. Any serve node answers
//! `GET /v1/runs/{id}` from them, and a worker that picks up a run again
//! reads where it was.
//!
//! Guards against: keys from a request (only run ids made of letters,
//! digits and `-` are looked up), records larger than a message may be
//! (each step is bounded to fit), records without end (the buckets hold at
//! most `keep_runs` runs and `max_store_bytes` of steps, the oldest going
//! first, and nothing past seven days), and records that cannot be read
//! back (a damaged entry reads as missing, with a warning).

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, kv, stream};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::workflow::{RunRecord, RunStatus, RunSummary, StepReport, StepTries, StoreLimits};

/// Whether a node that opens the store (or a queue) sets the bounds of
/// buckets that exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistingBounds {
    /// Keep them: this node takes them as they are (a worker).
    Keep,
    /// Set them to this node's (the `serve` node the operator configures).
    Replace,
}

/// The bucket of run entries.
const RUNS_BUCKET: &str = "connector-host-runs";
/// The bucket of step entries, keyed `<run id>.<step index>`.
const STEPS_BUCKET: &str = "connector-host-steps";
/// How long a run's record is kept after its last change.
const KEEP_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// A write to a run whose record says it has ended.
#[derive(Debug, thiserror::Error)]
#[error("the run has already ended")]
pub struct RunEnded;

/// A write by a delivery of a run that a later delivery has taken over:
/// the earlier one's acknowledgement deadline passed (its worker was cut
/// off from the queue), and its record is no longer the run's.
#[derive(Debug, thiserror::Error)]
#[error("a later delivery has taken the run over")]
pub struct RunTakenOver;

/// Run records in JetStream key-value buckets. Cheap to clone.
#[derive(Clone)]
pub struct SharedRunStore {
    buckets: std::sync::Arc<Buckets>,
    limits: StoreLimits,
}

struct Buckets {
    runs: kv::Store,
    steps: kv::Store,
}

/// What a run's entry holds: the record without its steps.
#[derive(Serialize, Deserialize)]
struct RunEntry {
    id: String,
    workflow: String,
    status: RunStatus,
    started_at: String,
    finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inputs: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workflow_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deliveries: Option<u64>,
    /// How many steps are recorded.
    steps: usize,
    /// What the tries of each step came to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tries: Vec<StepTries>,
}

impl RunEntry {
    fn of(record: &RunRecord) -> RunEntry {
        RunEntry {
            id: record.id.clone(),
            workflow: record.workflow.clone(),
            status: record.status,
            started_at: record.started_at.clone(),
            finished_at: record.finished_at.clone(),
            inputs: record.inputs.clone(),
            workflow_version: record.workflow_version,
            error: record.error.clone(),
            deliveries: record.deliveries,
            steps: record.steps.len(),
            tries: record.tries.clone(),
        }
    }
}

impl RunEntry {
    /// Whether `newer` may replace this entry: not once the run has ended,
    /// nor by an earlier delivery than the one this entry is of.
    fn may_be_replaced_by(&self, newer: &RunEntry) -> anyhow::Result<()> {
        if self.status.is_finished() {
            return Err(RunEnded.into());
        }
        if let (Some(stored), Some(writing)) = (self.deliveries, newer.deliveries)
            && stored > writing
        {
            return Err(RunTakenOver.into());
        }
        Ok(())
    }
}

impl SharedRunStore {
    /// Most bytes of JSON kept of a step's input, and of its output or
    /// error, so a step's entry fits in one message (NATS takes 1 MiB by
    /// default).
    pub const MAX_RECORDED_BYTES: usize = 256 * 1024;

    /// Opens the buckets, creating them within `limits` when they do not
    /// exist; `existing` says whether to set the bounds of ones that do.
    pub(crate) async fn open(
        jetstream: &jetstream::Context,
        limits: StoreLimits,
        existing: ExistingBounds,
    ) -> anyhow::Result<Self> {
        let runs = Bound { max_messages: limits.keep_runs as i64, max_bytes: -1 };
        let steps = Bound { max_messages: -1, max_bytes: limits.max_store_bytes.min(i64::MAX as u64) as i64 };
        let buckets = Buckets {
            runs: bucket(jetstream, RUNS_BUCKET, runs, existing).await?,
            steps: bucket(jetstream, STEPS_BUCKET, steps, existing).await?,
        };
        Ok(SharedRunStore { buckets: std::sync::Arc::new(buckets), limits })
    }

    /// What this store keeps (as this node was told; the buckets keep the
    /// bounds of whoever made them, unless a `serve` node set its own).
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// Writes `record`'s entry (not its steps: those come with
    /// [`add_step`](Self::add_step)); its step count says how many of them
    /// belong to the run.
    pub async fn put(&self, record: &RunRecord) -> anyhow::Result<()> {
        self.put_entry(&RunEntry::of(record)).await
    }

    /// Writes `entry` unless the run's entry says it has ended, or that a
    /// later delivery has it: two deliveries of one run (a worker that
    /// lost its connection, and the one that took over) must not turn a
    /// finished run back to running, nor overwrite each other's steps. The
    /// write is conditional on the revision read, so a concurrent one is
    /// seen.
    async fn put_entry(&self, entry: &RunEntry) -> anyhow::Result<()> {
        let key = run_key(&entry.id)?;
        let value: bytes::Bytes = serde_json::to_vec(entry)?.into();
        let runs = &self.buckets.runs;
        for _ in 0..5 {
            let current = runs.entry(key).await.context("could not read the run store")?;
            let written = match current.filter(|current| current.operation == kv::Operation::Put) {
                Some(current) => {
                    if let Ok(stored) = serde_json::from_slice::<RunEntry>(&current.value) {
                        stored.may_be_replaced_by(entry)?;
                    }
                    runs.update(key, value.clone(), current.revision).await.is_ok()
                }
                None => runs.create(key, value.clone()).await.is_ok(),
            };
            if written {
                return Ok(());
            }
        }
        anyhow::bail!("could not record the run: its record kept changing under this write")
    }

    /// Removes run `id`'s entry (of a run that was never queued).
    pub(crate) async fn forget(&self, id: &str) -> anyhow::Result<()> {
        self.buckets.runs.purge(run_key(id)?).await.context("could not remove the run's record")?;
        Ok(())
    }

    /// Records step `index` of `record`'s run, then the run's entry with
    /// `record`'s steps so far (the step among them).
    pub async fn add_step(&self, record: &RunRecord, index: usize, report: &StepReport) -> anyhow::Result<()> {
        let key = format!("{}.{index}", run_key(&record.id)?);
        let mut entry = RunEntry::of(record);
        entry.steps = index + 1;
        // Checked before the step is written too, which no revision guards.
        if let Some(stored) = self.entry(&record.id).await? {
            stored.may_be_replaced_by(&entry)?;
        }
        self.buckets.steps.put(key, serde_json::to_vec(report)?.into()).await.context("could not record the step")?;
        self.put_entry(&entry).await
    }

    async fn entry(&self, id: &str) -> anyhow::Result<Option<RunEntry>> {
        let Ok(key) = run_key(id) else { return Ok(None) };
        let Some(bytes) = self.buckets.runs.get(key).await.context("could not read the run store")? else {
            return Ok(None);
        };
        match serde_json::from_slice(&bytes) {
            Ok(entry) => Ok(Some(entry)),
            Err(e) => {
                tracing::warn!(run = %id, error = %e, "a run's record cannot be read; skipped");
                Ok(None)
            }
        }
    }

    /// The run `id` with its steps, if it is kept.
    pub async fn get(&self, id: &str) -> anyhow::Result<Option<RunRecord>> {
        let Some(entry) = self.entry(id).await? else { return Ok(None) };
        // The count is read from the store: bounded before it sizes anything.
        let count = entry.steps.min(crate::workflow::Workflow::MAX_STEPS);
        let mut steps = Vec::with_capacity(count);
        for index in 0..count {
            let key = format!("{}.{index}", entry.id);
            let bytes = self.buckets.steps.get(key).await.context("could not read the run store")?;
            match bytes.map(|bytes| serde_json::from_slice::<StepReport>(&bytes)) {
                Some(Ok(step)) => steps.push(step),
                // Steps are read in order: a later one without this one
                // would misplace them.
                Some(Err(e)) => {
                    tracing::warn!(run = %id, step = index, error = %e, "a recorded step cannot be read; skipped");
                    break;
                }
                None => break,
            }
        }
        Ok(Some(RunRecord {
            id: entry.id,
            workflow: entry.workflow,
            status: entry.status,
            started_at: entry.started_at,
            finished_at: entry.finished_at,
            inputs: entry.inputs,
            workflow_version: entry.workflow_version,
            steps,
            error: entry.error,
            deliveries: entry.deliveries,
            tries: entry.tries,
        }))
    }

    /// The newest `limit` runs, newest first, without their steps. Run ids
    /// begin with their time (UUID v7), so the newest are the greatest.
    pub async fn list(&self, limit: usize) -> anyhow::Result<Vec<RunSummary>> {
        let mut keys: Vec<String> = match self.buckets.runs.keys().await {
            Ok(keys) => keys.filter_map(|key| async move { key.ok() }).collect().await,
            Err(e) => return Err(e).context("could not list the run store"),
        };
        keys.sort_unstable_by(|a, b| b.cmp(a));
        let mut runs = Vec::new();
        for key in keys {
            if runs.len() == limit {
                break;
            }
            if let Some(entry) = self.entry(&key).await? {
                runs.push(RunSummary {
                    id: entry.id,
                    workflow: entry.workflow,
                    status: entry.status,
                    started_at: entry.started_at,
                    finished_at: entry.finished_at,
                    steps: entry.steps,
                });
            }
        }
        Ok(runs)
    }

    /// Waits until run `id` has ended and returns its record (`None` if no
    /// such run is kept).
    pub async fn wait(&self, id: &str) -> anyhow::Result<Option<RunRecord>> {
        let key = run_key(id)?;
        let mut changes = self.buckets.runs.watch_with_history(key).await.context("could not watch the run store")?;
        while let Some(change) = changes.next().await {
            let change = change.context("could not watch the run store")?;
            let status = serde_json::from_slice::<RunEntry>(&change.value).map(|entry| entry.status);
            if change.operation != kv::Operation::Put || status.is_ok_and(RunStatus::is_finished) {
                break;
            }
        }
        self.get(id).await
    }
}

/// `id` as a key, if it is a run id (what a key-value key may hold, and
/// nothing that reads as a subject wildcard or separator).
fn run_key(id: &str) -> anyhow::Result<&str> {
    anyhow::ensure!(is_run_id(id), "`{}` is not a run id", crate::escape::escape_untrusted(id));
    Ok(id)
}

/// Whether `id` can be a run id: 1 to 64 letters, digits and `-`.
pub(crate) fn is_run_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// How much a bucket's stream holds (-1: no bound), the oldest entries
/// going first past it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Bound {
    max_messages: i64,
    max_bytes: i64,
}

async fn bucket(
    jetstream: &jetstream::Context,
    name: &str,
    bound: Bound,
    existing: ExistingBounds,
) -> anyhow::Result<kv::Store> {
    if let Ok(store) = jetstream.get_key_value(name).await {
        if existing == ExistingBounds::Replace {
            set_bound(jetstream, name, bound).await?;
        }
        return Ok(store);
    }
    // The bucket's stream as the key-value convention lays it out, made
    // here rather than by `create_key_value`, which first reads account
    // details that JetStream servers before 2.11 (Debian's 2.9) answer in
    // a form the client does not read.
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_messages: bound.max_messages,
        max_bytes: bound.max_bytes,
        max_age: KEEP_FOR,
        max_message_size: 1024 * 1024,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        // Past a bound the oldest records go, not the newest writes.
        discard: stream::DiscardPolicy::Old,
        num_replicas: 1,
        ..Default::default()
    };
    jetstream
        .get_or_create_stream(config)
        .await
        .with_context(|| format!("could not create the key-value bucket {name}"))?;
    jetstream.get_key_value(name).await.with_context(|| format!("could not open the key-value bucket {name}"))
}

/// Sets the bounds of the existing bucket `name` to `bound`, oldest
/// entries first out.
async fn set_bound(jetstream: &jetstream::Context, name: &str, bound: Bound) -> anyhow::Result<()> {
    let mut stream = jetstream
        .get_stream(format!("KV_{name}"))
        .await
        .with_context(|| format!("could not open the key-value bucket {name}"))?;
    let config = &stream.info().await.with_context(|| format!("could not read the bucket {name}"))?.config;
    let current = (config.max_messages, config.max_bytes, config.discard == stream::DiscardPolicy::Old);
    if current == (bound.max_messages, bound.max_bytes, true) {
        return Ok(());
    }
    let mut updated = config.clone();
    updated.max_messages = bound.max_messages;
    updated.max_bytes = bound.max_bytes;
    updated.discard = stream::DiscardPolicy::Old;
    jetstream.update_stream(updated).await.with_context(|| format!("could not bound the bucket {name}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_replaced_only_by_its_own_or_a_later_delivery_of_a_running_run() {
        let entry = |status, deliveries| RunEntry {
            id: "r".into(),
            workflow: "w".into(),
            status,
            started_at: String::new(),
            finished_at: None,
            inputs: None,
            workflow_version: None,
            error: None,
            deliveries,
            steps: 0,
            tries: Vec::new(),
        };
        let running = entry(RunStatus::Running, Some(2));
        assert!(running.may_be_replaced_by(&entry(RunStatus::Running, Some(2))).is_ok());
        assert!(running.may_be_replaced_by(&entry(RunStatus::Running, Some(3))).is_ok());
        let late = running.may_be_replaced_by(&entry(RunStatus::Running, Some(1))).unwrap_err();
        assert!(late.is::<RunTakenOver>(), "{late}");
        let ended = entry(RunStatus::Succeeded, Some(2)).may_be_replaced_by(&entry(RunStatus::Running, Some(3)));
        assert!(ended.unwrap_err().is::<RunEnded>());
        assert!(entry(RunStatus::Queued, None).may_be_replaced_by(&entry(RunStatus::Running, Some(1))).is_ok());
    }

    #[test]
    fn only_run_ids_become_keys() {
        assert!(run_key("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").is_ok());
        for bad in ["", "a.b", "*", ">", "a b", "é", &"a".repeat(65)] {
            assert!(run_key(bad).is_err(), "{bad:?}");
        }
    }
}
