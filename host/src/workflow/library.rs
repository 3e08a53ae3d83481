//! Stored workflows: saved by name, each save a new version (earlier ones
//! kept, up to [`MAX_VERSIONS`]), listed, read back by version, deleted;
//! their webhooks, each with its own secret; and their schedules, moved on
//! by compare-and-set so one caller starts each time. A server keeps them in
//! its data directory (SQLite), or, when nodes share a queue, in a
//! JetStream key-value bucket every node reads, kept until deleted.
//!
//! Guards against: names from a request (only 1 to 64 letters, digits,
//! `_` and `-` become keys or rows), a library without end (at most
//! [`MAX_WORKFLOWS`] workflows, [`MAX_VERSIONS`] versions of each and
//! [`MAX_HOOKS`] hooks per workflow), and two saves at once taking the same
//! version (the version's key or row is created, never overwritten).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::selector::is_alias;
use crate::workflow::{ScheduleState, timestamp};

/// Most workflows a library holds.
pub const MAX_WORKFLOWS: usize = 1000;
/// Versions kept of one workflow; saving past it drops the oldest.
pub const MAX_VERSIONS: u64 = 100;
/// Most webhooks one workflow has.
pub const MAX_HOOKS: usize = 20;

/// The bucket of stored workflows and hooks, when nodes share a queue.
const BUCKET: &str = "connector-host-workflows";

/// One saved version of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredWorkflow {
    pub name: String,
    /// From 1, one more with each save.
    pub version: u64,
    pub saved_at: String,
    /// The workflow as saved.
    pub workflow: Value,
}

/// A workflow's webhook: `POST /v1/hooks/{id}` starts a run of the
/// workflow's latest version, its body the run's inputs.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    /// Random, and all a caller needs to find it; the secret proves the
    /// caller may start it.
    pub id: String,
    pub workflow: String,
    pub secret: String,
    pub created_at: String,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook").field("id", &self.id).field("workflow", &self.workflow).finish_non_exhaustive()
    }
}

/// A hook as listings show it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookSummary {
    pub id: String,
    pub created_at: String,
}

/// Where stored workflows live. Cheap to clone.
#[derive(Clone)]
pub enum WorkflowLibrary {
    /// One server's own, in its data directory.
    Embedded(Arc<Mutex<Connection>>),
    /// Shared by the nodes of a queue.
    Shared(Box<kv::Store>),
}

impl WorkflowLibrary {
    /// Opens (or creates) the library in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        let path = dir.join("workflows.sqlite");
        let connection = Connection::open(&path)
            .with_context(|| format!("could not open the workflow library {}", path.display()))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE IF NOT EXISTS workflows (
                     name TEXT NOT NULL, version INTEGER NOT NULL, saved_at TEXT NOT NULL, workflow TEXT NOT NULL,
                     PRIMARY KEY (name, version));
                 CREATE TABLE IF NOT EXISTS hooks (
                     id TEXT PRIMARY KEY, workflow TEXT NOT NULL, secret TEXT NOT NULL, created_at TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS schedules (workflow TEXT PRIMARY KEY, state TEXT NOT NULL);",
            )
            .with_context(|| format!("could not set up the workflow library {}", path.display()))?;
        Ok(WorkflowLibrary::Embedded(Arc::new(Mutex::new(connection))))
    }

    /// Opens the shared bucket, creating it (entries kept until deleted)
    /// when it does not exist.
    pub(crate) async fn open_shared(jetstream: &jetstream::Context) -> anyhow::Result<Self> {
        if let Ok(store) = jetstream.get_key_value(BUCKET).await {
            return Ok(WorkflowLibrary::Shared(Box::new(store)));
        }
        // Made as the key-value convention lays it out; see shared_store.
        let config = async_nats::jetstream::stream::Config {
            name: format!("KV_{BUCKET}"),
            subjects: vec![format!("$KV.{BUCKET}.>")],
            max_messages_per_subject: 1,
            max_message_size: 1024 * 1024,
            storage: async_nats::jetstream::stream::StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            num_replicas: 1,
            ..Default::default()
        };
        jetstream.get_or_create_stream(config).await.context("could not create the workflow library's bucket")?;
        let store = jetstream.get_key_value(BUCKET).await.context("could not open the workflow library's bucket")?;
        Ok(WorkflowLibrary::Shared(Box::new(store)))
    }

    /// Saves `workflow` as the next version of `name`.
    pub async fn save(&self, name: &str, workflow: &Value) -> anyhow::Result<StoredWorkflow> {
        check_name(name)?;
        let text = workflow.to_string();
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let (name, saved_at) = (name.to_owned(), timestamp(std::time::SystemTime::now()));
                blocking(connection, move |c| {
                    let transaction = c.unchecked_transaction()?;
                    let latest: Option<i64> = transaction.query_row(
                        "SELECT MAX(version) FROM workflows WHERE name = ?1",
                        [&name],
                        |row| row.get(0),
                    )?;
                    if latest.is_none() {
                        let count: i64 =
                            transaction
                                .query_row("SELECT COUNT(DISTINCT name) FROM workflows", [], |row| row.get(0))?;
                        if count as usize >= MAX_WORKFLOWS {
                            bail!("the library holds {MAX_WORKFLOWS} workflows, its limit: delete one first");
                        }
                    }
                    let version = latest.unwrap_or(0) + 1;
                    transaction.execute(
                        "INSERT INTO workflows (name, version, saved_at, workflow) VALUES (?1, ?2, ?3, ?4)",
                        params![name, version, saved_at, text],
                    )?;
                    transaction.execute(
                        "DELETE FROM workflows WHERE name = ?1 AND version <= ?2",
                        params![name, version - MAX_VERSIONS as i64],
                    )?;
                    let version = version as u64;
                    transaction.commit()?;
                    Ok(StoredWorkflow { name, version, saved_at, workflow: serde_json::from_str(&text)? })
                })
                .await
            }
            WorkflowLibrary::Shared(store) => {
                let versions = shared_versions(store, name).await?;
                if versions.is_empty() && shared_names(store).await?.len() >= MAX_WORKFLOWS {
                    bail!("the library holds {MAX_WORKFLOWS} workflows, its limit: delete one first");
                }
                let next = versions.last().copied().unwrap_or(0) + 1;
                let saved_at = timestamp(std::time::SystemTime::now());
                // A concurrent save took this version: take the next.
                for version in next..next + 10 {
                    let stored = StoredWorkflow {
                        name: name.to_owned(),
                        version,
                        saved_at: saved_at.clone(),
                        workflow: workflow.clone(),
                    };
                    let value: bytes::Bytes = serde_json::to_vec(&stored)?.into();
                    if store.create(version_key(name, version), value).await.is_ok() {
                        for old in versions.iter().filter(|v| **v + MAX_VERSIONS <= version) {
                            let _ = store.purge(version_key(name, *old)).await;
                        }
                        return Ok(stored);
                    }
                }
                bail!("could not save `{name}`: other saves kept taking its next version")
            }
        }
    }

    /// Version `version` of `name` (the latest when `None`), if kept.
    pub async fn get(&self, name: &str, version: Option<u64>) -> anyhow::Result<Option<StoredWorkflow>> {
        check_name(name)?;
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let name = name.to_owned();
                blocking(connection, move |c| {
                    let row = c
                        .query_row(
                            "SELECT version, saved_at, workflow FROM workflows WHERE name = ?1
                               AND version = COALESCE(?2, (SELECT MAX(version) FROM workflows WHERE name = ?1))",
                            params![name, version.map(|v| v.min(i64::MAX as u64) as i64)],
                            |row| {
                                Ok((row.get::<_, i64>(0)? as u64, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
                            },
                        )
                        .optional()?;
                    row.map(|(version, saved_at, text)| {
                        Ok(StoredWorkflow {
                            name: name.clone(),
                            version,
                            saved_at,
                            workflow: serde_json::from_str(&text)?,
                        })
                    })
                    .transpose()
                })
                .await
            }
            WorkflowLibrary::Shared(store) => {
                let version = match version {
                    Some(version) => version,
                    None => match shared_versions(store, name).await?.last() {
                        Some(latest) => *latest,
                        None => return Ok(None),
                    },
                };
                let entry =
                    store.get(version_key(name, version)).await.context("could not read the workflow library")?;
                entry
                    .map(|bytes| serde_json::from_slice(&bytes).context("a stored workflow cannot be read"))
                    .transpose()
            }
        }
    }

    /// The versions kept of `name`, oldest first.
    pub async fn versions(&self, name: &str) -> anyhow::Result<Vec<u64>> {
        check_name(name)?;
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let name = name.to_owned();
                blocking(connection, move |c| {
                    let mut select = c.prepare("SELECT version FROM workflows WHERE name = ?1 ORDER BY version")?;
                    let rows = select.query_map([&name], |row| Ok(row.get::<_, i64>(0)? as u64))?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await
            }
            WorkflowLibrary::Shared(store) => shared_versions(store, name).await,
        }
    }

    /// The latest version of every workflow, by name.
    pub async fn list(&self) -> anyhow::Result<Vec<StoredWorkflow>> {
        match self {
            WorkflowLibrary::Embedded(connection) => {
                blocking(connection, |c| {
                    let mut select = c.prepare(
                        "SELECT name, version, saved_at, workflow FROM workflows AS w
                         WHERE version = (SELECT MAX(version) FROM workflows WHERE name = w.name) ORDER BY name",
                    )?;
                    let rows = select.query_map([], |row| {
                        let (name, version) = (row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64);
                        Ok((name, version, row.get::<_, String>(2)?, row.get::<_, String>(3)?))
                    })?;
                    let mut out = Vec::new();
                    for row in rows {
                        let (name, version, saved_at, text) = row?;
                        out.push(StoredWorkflow { name, version, saved_at, workflow: serde_json::from_str(&text)? });
                    }
                    Ok(out)
                })
                .await
            }
            WorkflowLibrary::Shared(store) => {
                // One listing of the bucket for every name's latest version.
                let mut latest: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
                for key in keys(store).await? {
                    if let Some((name, version)) = parse_version_key(&key) {
                        let entry = latest.entry(name.to_owned()).or_default();
                        *entry = (*entry).max(version);
                    }
                }
                let mut out = Vec::with_capacity(latest.len());
                for (name, version) in latest {
                    let entry =
                        store.get(version_key(&name, version)).await.context("could not read the workflow library")?;
                    if let Some(bytes) = entry {
                        out.push(serde_json::from_slice(&bytes).context("a stored workflow cannot be read")?);
                    }
                }
                Ok(out)
            }
        }
    }

    /// Deletes every version of `name` and its hooks; whether it existed.
    pub async fn delete(&self, name: &str) -> anyhow::Result<bool> {
        check_name(name)?;
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let name = name.to_owned();
                blocking(connection, move |c| {
                    let deleted = c.execute("DELETE FROM workflows WHERE name = ?1", [&name])?;
                    c.execute("DELETE FROM hooks WHERE workflow = ?1", [&name])?;
                    c.execute("DELETE FROM schedules WHERE workflow = ?1", [&name])?;
                    Ok(deleted > 0)
                })
                .await
            }
            WorkflowLibrary::Shared(store) => {
                let versions = shared_versions(store, name).await?;
                for version in &versions {
                    store.purge(version_key(name, *version)).await.context("could not delete the workflow")?;
                }
                for hook in self.hooks(name).await? {
                    store.purge(hook_key(&hook.id)?).await.context("could not delete the workflow's hook")?;
                }
                store.purge(schedule_key(name)).await.context("could not delete the workflow's schedule")?;
                Ok(!versions.is_empty())
            }
        }
    }

    /// A new webhook for `name`, with a random id and secret.
    pub async fn add_hook(&self, name: &str) -> anyhow::Result<Hook> {
        check_name(name)?;
        if self.hooks(name).await?.len() >= MAX_HOOKS {
            bail!("`{name}` has {MAX_HOOKS} webhooks, its limit: delete one first");
        }
        let hook = Hook {
            id: random_hex(16)?,
            workflow: name.to_owned(),
            secret: random_hex(32)?,
            created_at: timestamp(std::time::SystemTime::now()),
        };
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let stored = hook.clone();
                blocking(connection, move |c| {
                    c.execute(
                        "INSERT INTO hooks (id, workflow, secret, created_at) VALUES (?1, ?2, ?3, ?4)",
                        params![stored.id, stored.workflow, stored.secret, stored.created_at],
                    )?;
                    Ok(())
                })
                .await?
            }
            WorkflowLibrary::Shared(store) => {
                let value: bytes::Bytes = serde_json::to_vec(&hook)?.into();
                store.create(hook_key(&hook.id)?, value).await.context("could not save the hook")?;
            }
        }
        Ok(hook)
    }

    /// The hook `id`, if there is one.
    pub async fn hook(&self, id: &str) -> anyhow::Result<Option<Hook>> {
        if !is_hook_id(id) {
            return Ok(None);
        }
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let id = id.to_owned();
                blocking(connection, move |c| {
                    Ok(c.query_row("SELECT id, workflow, secret, created_at FROM hooks WHERE id = ?1", [&id], |row| {
                        Ok(Hook {
                            id: row.get(0)?,
                            workflow: row.get(1)?,
                            secret: row.get(2)?,
                            created_at: row.get(3)?,
                        })
                    })
                    .optional()?)
                })
                .await
            }
            WorkflowLibrary::Shared(store) => {
                let entry = store.get(hook_key(id)?).await.context("could not read the workflow library")?;
                entry.map(|bytes| serde_json::from_slice(&bytes).context("a stored hook cannot be read")).transpose()
            }
        }
    }

    /// The hooks of `name`, without their secrets.
    pub async fn hooks(&self, name: &str) -> anyhow::Result<Vec<HookSummary>> {
        check_name(name)?;
        let summary = |hook: Hook| HookSummary { id: hook.id, created_at: hook.created_at };
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let name = name.to_owned();
                blocking(connection, move |c| {
                    let mut select =
                        c.prepare("SELECT id, created_at FROM hooks WHERE workflow = ?1 ORDER BY created_at")?;
                    let rows = select
                        .query_map([&name], |row| Ok(HookSummary { id: row.get(0)?, created_at: row.get(1)? }))?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await
            }
            WorkflowLibrary::Shared(store) => {
                let mut out = Vec::new();
                for key in keys(store).await?.into_iter().filter(|key| key.starts_with("hook.")) {
                    if let Some(hook) = self.hook(&key["hook.".len()..]).await?
                        && hook.workflow == name
                    {
                        out.push(summary(hook));
                    }
                }
                out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
                Ok(out)
            }
        }
    }

    /// Deletes hook `id` of `name`; whether it existed.
    pub async fn delete_hook(&self, name: &str, id: &str) -> anyhow::Result<bool> {
        check_name(name)?;
        match self.hook(id).await? {
            Some(hook) if hook.workflow == name => {}
            _ => return Ok(false),
        }
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let id = id.to_owned();
                blocking(connection, move |c| Ok(c.execute("DELETE FROM hooks WHERE id = ?1", [&id])? > 0)).await
            }
            WorkflowLibrary::Shared(store) => {
                store.purge(hook_key(id)?).await.context("could not delete the hook")?;
                Ok(true)
            }
        }
    }
}

impl WorkflowLibrary {
    /// Sets `state` as the schedule of its workflow, replacing any.
    pub async fn set_schedule(&self, state: &ScheduleState) -> anyhow::Result<()> {
        check_name(&state.workflow)?;
        let text = serde_json::to_string(state)?;
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let name = state.workflow.clone();
                blocking(connection, move |c| {
                    c.execute(
                        "INSERT INTO schedules (workflow, state) VALUES (?1, ?2)
                         ON CONFLICT (workflow) DO UPDATE SET state = excluded.state",
                        params![name, text],
                    )?;
                    Ok(())
                })
                .await
            }
            WorkflowLibrary::Shared(store) => {
                store.put(schedule_key(&state.workflow), text.into()).await.context("could not save the schedule")?;
                Ok(())
            }
        }
    }

    /// The schedule of `name`, if it has one.
    pub async fn schedule(&self, name: &str) -> anyhow::Result<Option<ScheduleState>> {
        check_name(name)?;
        Ok(self.schedule_entry(name).await?.map(|(state, _)| state))
    }

    /// The schedule of `name` and what a compare-and-set needs of it.
    async fn schedule_entry(&self, name: &str) -> anyhow::Result<Option<(ScheduleState, Revision)>> {
        let (text, revision) = match self {
            WorkflowLibrary::Embedded(connection) => {
                let name = name.to_owned();
                let text = blocking(connection, move |c| {
                    Ok(c.query_row("SELECT state FROM schedules WHERE workflow = ?1", [&name], |row| {
                        row.get::<_, String>(0)
                    })
                    .optional()?)
                })
                .await?;
                match text {
                    Some(text) => (text.clone().into_bytes(), Revision::Text(text)),
                    None => return Ok(None),
                }
            }
            WorkflowLibrary::Shared(store) => {
                let entry = store.entry(schedule_key(name)).await.context("could not read the schedule")?;
                match entry.filter(|entry| entry.operation == kv::Operation::Put) {
                    Some(entry) => (entry.value.to_vec(), Revision::Number(entry.revision)),
                    None => return Ok(None),
                }
            }
        };
        let state = serde_json::from_slice(&text).context("a stored schedule cannot be read")?;
        Ok(Some((state, revision)))
    }

    /// Every schedule.
    pub async fn schedules(&self) -> anyhow::Result<Vec<ScheduleState>> {
        let texts: Vec<Vec<u8>> = match self {
            WorkflowLibrary::Embedded(connection) => {
                blocking(connection, |c| {
                    let mut select = c.prepare("SELECT state FROM schedules ORDER BY workflow")?;
                    let rows = select.query_map([], |row| row.get::<_, String>(0).map(String::into_bytes))?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await?
            }
            WorkflowLibrary::Shared(store) => {
                let mut texts = Vec::new();
                for key in keys(store).await?.into_iter().filter(|key| key.starts_with("schedule.")) {
                    if let Some(bytes) = store.get(key).await.context("could not read the schedules")? {
                        texts.push(bytes.to_vec());
                    }
                }
                texts
            }
        };
        texts.iter().map(|text| serde_json::from_slice(text).context("a stored schedule cannot be read")).collect()
    }

    /// Deletes the schedule of `name`; whether it had one.
    pub async fn delete_schedule(&self, name: &str) -> anyhow::Result<bool> {
        check_name(name)?;
        match self {
            WorkflowLibrary::Embedded(connection) => {
                let name = name.to_owned();
                blocking(connection, move |c| Ok(c.execute("DELETE FROM schedules WHERE workflow = ?1", [&name])? > 0))
                    .await
            }
            WorkflowLibrary::Shared(store) => {
                let had = self.schedule(name).await?.is_some();
                store.purge(schedule_key(name)).await.context("could not delete the schedule")?;
                Ok(had)
            }
        }
    }

    /// Moves the schedule from `current` to `next` if no one else has:
    /// whether this caller did, and so is the one to start its runs.
    pub async fn claim_schedule(&self, current: &ScheduleState, next: &ScheduleState) -> anyhow::Result<bool> {
        let Some((stored, revision)) = self.schedule_entry(&current.workflow).await? else { return Ok(false) };
        if &stored != current {
            return Ok(false);
        }
        let text = serde_json::to_string(next)?;
        match (self, revision) {
            (WorkflowLibrary::Embedded(connection), Revision::Text(old)) => {
                let name = current.workflow.clone();
                blocking(connection, move |c| {
                    let changed = c.execute(
                        "UPDATE schedules SET state = ?1 WHERE workflow = ?2 AND state = ?3",
                        params![text, name, old],
                    )?;
                    Ok(changed == 1)
                })
                .await
            }
            (WorkflowLibrary::Shared(store), Revision::Number(revision)) => {
                Ok(store.update(schedule_key(&current.workflow), text.into(), revision).await.is_ok())
            }
            _ => Ok(false),
        }
    }
}

/// What a compare-and-set of a schedule compares: the stored text, or the
/// bucket entry's revision.
enum Revision {
    Text(String),
    Number(u64),
}

fn schedule_key(name: &str) -> String {
    format!("schedule.{name}")
}

/// Refuses a name that cannot be a stored workflow's.
fn check_name(name: &str) -> anyhow::Result<()> {
    if !is_alias(name) {
        bail!(
            "`{}` cannot name a stored workflow: use 1 to 64 letters, digits, `_` or `-`",
            crate::escape::escape_untrusted(&name.chars().take(80).collect::<String>())
        );
    }
    Ok(())
}

/// Whether `id` can be a hook's id (32 lowercase hex digits).
fn is_hook_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn version_key(name: &str, version: u64) -> String {
    format!("workflow.{name}.{version}")
}

/// The name and version a `workflow.<name>.<version>` key holds.
fn parse_version_key(key: &str) -> Option<(&str, u64)> {
    let (name, version) = key.strip_prefix("workflow.")?.rsplit_once('.')?;
    Some((name, version.parse().ok()?))
}

fn hook_key(id: &str) -> anyhow::Result<String> {
    anyhow::ensure!(is_hook_id(id), "not a hook id");
    Ok(format!("hook.{id}"))
}

/// `bytes` random bytes from the operating system, as hex.
fn random_hex(bytes: usize) -> anyhow::Result<String> {
    use ring::rand::SecureRandom;
    let mut buffer = vec![0u8; bytes];
    ring::rand::SystemRandom::new().fill(&mut buffer).map_err(|_| anyhow::anyhow!("no random bytes to be had"))?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

async fn keys(store: &kv::Store) -> anyhow::Result<Vec<String>> {
    let keys = store.keys().await.context("could not list the workflow library")?;
    Ok(keys.filter_map(|key| async move { key.ok() }).collect().await)
}

/// The names of the workflows in the shared bucket.
async fn shared_names(store: &kv::Store) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> =
        keys(store).await?.iter().filter_map(|key| parse_version_key(key)).map(|(name, _)| name.to_owned()).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The versions of `name` in the shared bucket, oldest first.
async fn shared_versions(store: &kv::Store, name: &str) -> anyhow::Result<Vec<u64>> {
    let mut versions: Vec<u64> = keys(store)
        .await?
        .iter()
        .filter_map(|key| parse_version_key(key).filter(|(found, _)| *found == name).map(|(_, version)| version))
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

async fn blocking<T: Send + 'static>(
    connection: &Arc<Mutex<Connection>>,
    work: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let connection = connection.clone();
    tokio::task::spawn_blocking(move || work(&connection.lock().expect("workflow library lock")))
        .await
        .context("the workflow library's task failed")?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn saves_are_versions_and_hooks_belong_to_their_workflow() {
        let dir = tempfile::tempdir().unwrap();
        let library = WorkflowLibrary::open(dir.path()).unwrap();
        let first = library.save("onboard", &json!({"steps": [1]})).await.unwrap();
        let second = library.save("onboard", &json!({"steps": [2]})).await.unwrap();
        assert_eq!((first.version, second.version), (1, 2));
        assert_eq!(library.get("onboard", None).await.unwrap().unwrap().workflow, json!({"steps": [2]}));
        assert_eq!(library.get("onboard", Some(1)).await.unwrap().unwrap().workflow, json!({"steps": [1]}));
        assert_eq!(library.get("onboard", Some(9)).await.unwrap(), None);
        assert_eq!(library.versions("onboard").await.unwrap(), [1, 2]);
        let hook = library.add_hook("onboard").await.unwrap();
        assert!(is_hook_id(&hook.id) && hook.secret.len() == 64);
        assert_eq!(library.hook(&hook.id).await.unwrap().unwrap().secret, hook.secret);
        assert!(!format!("{hook:?}").contains(&hook.secret), "a hook's debug form hides its secret");
        assert!(!library.delete_hook("other", &hook.id).await.unwrap(), "a hook is deleted through its workflow");
        assert_eq!(library.list().await.unwrap().len(), 1);
        assert!(library.delete("onboard").await.unwrap());
        assert_eq!(library.hook(&hook.id).await.unwrap(), None, "deleting a workflow deletes its hooks");
        assert!(library.list().await.unwrap().is_empty());
        assert!(library.save("../etc", &json!({})).await.unwrap_err().to_string().contains("cannot name"));
        assert_eq!(library.hook("../../x").await.unwrap(), None);
    }

    #[tokio::test]
    async fn only_the_latest_versions_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let library = WorkflowLibrary::open(dir.path()).unwrap();
        for n in 0..MAX_VERSIONS + 3 {
            library.save("w", &json!({"n": n})).await.unwrap();
        }
        let versions = library.versions("w").await.unwrap();
        assert_eq!((versions.len() as u64, versions[0]), (MAX_VERSIONS, 4));
    }
}
