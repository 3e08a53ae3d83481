//! The embedded run store of a single server: a SQLite database in the data
//! directory. A run is a row, and each of its steps a row of its own,
//! written as the step ends, so a run's steps survive a crash or a restart
//! and recording a step costs the same however many came before. The
//! runs kept are bounded in number and in bytes of steps, oldest first
//! out, never one in progress. A row that cannot be read back (written by a newer version,
//! or damaged) is skipped with a warning, never a reason to stop serving.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::workflow::{RunRecord, RunStatus, RunSummary, StepReport, StoreLimits};

/// The SQLite run store. Cheap to clone; calls run on a blocking thread.
#[derive(Clone)]
pub struct SqliteRunStore {
    connection: Arc<Mutex<Connection>>,
    limits: StoreLimits,
}

impl SqliteRunStore {
    /// Opens (or creates) `runs.sqlite3` in `dir`, keeping what `limits`
    /// allow. Runs left `running` by a host that stopped are marked failed.
    pub fn open(dir: &Path, limits: StoreLimits) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the data directory {}", dir.display()))?;
        let path = dir.join("runs.sqlite3");
        let connection =
            Connection::open(&path).with_context(|| format!("could not open the run store {}", path.display()))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 CREATE TABLE IF NOT EXISTS runs (
                     seq INTEGER PRIMARY KEY AUTOINCREMENT,
                     id TEXT NOT NULL UNIQUE,
                     workflow TEXT NOT NULL,
                     status TEXT NOT NULL,
                     started_at TEXT NOT NULL,
                     finished_at TEXT
                 );
                 CREATE TABLE IF NOT EXISTS steps (
                     run_seq INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
                     idx INTEGER NOT NULL,
                     report TEXT NOT NULL,
                     PRIMARY KEY (run_seq, idx)
                 );",
            )
            .with_context(|| format!("could not set up the run store {}", path.display()))?;
        add_columns(&connection).with_context(|| format!("could not update the run store {}", path.display()))?;
        let interrupted = connection
            .execute(
                "UPDATE runs SET status = 'failed', finished_at = COALESCE(finished_at, ?1) WHERE status = 'running'",
                [crate::workflow::timestamp(std::time::SystemTime::now())],
            )
            .context("could not mark interrupted runs")?;
        if interrupted > 0 {
            tracing::warn!(runs = interrupted, "runs interrupted by a stop of the host are marked failed");
        }
        let limits = StoreLimits { keep_runs: limits.keep_runs.max(1), ..limits };
        Ok(SqliteRunStore { connection: Arc::new(Mutex::new(connection)), limits })
    }

    /// What this store keeps.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// Records a new run (its steps come with [`add_step`](Self::add_step))
    /// and trims the oldest finished runs past the bounds: the number of
    /// runs, then the bytes of their steps.
    pub async fn create(&self, record: &RunRecord) -> anyhow::Result<()> {
        let record = record.clone();
        self.blocking(move |connection, limits| {
            let inputs = record.inputs.as_ref().map(Value::to_string);
            connection.execute(
                "INSERT INTO runs (id, workflow, status, started_at, finished_at, inputs, workflow_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    record.id,
                    record.workflow,
                    record.status.as_str(),
                    record.started_at,
                    record.finished_at,
                    inputs,
                    record.workflow_version.map(|v| v as i64)
                ],
            )?;
            connection.execute(
                "DELETE FROM runs WHERE status != 'running' AND seq <= (
                     SELECT seq FROM runs ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
                params![limits.keep_runs as i64],
            )?;
            // Finished runs, newest first, as long as all of them together
            // fit; the rest go.
            connection.execute(
                "DELETE FROM runs WHERE seq IN (
                     SELECT seq FROM (
                         SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS newer
                         FROM runs WHERE status != 'running')
                     WHERE newer > ?1)",
                params![limits.max_store_bytes.min(i64::MAX as u64) as i64],
            )?;
            Ok(())
        })
        .await
        .context("could not record the run")
    }

    /// Records step `index` of run `id`, and the bytes its steps take now.
    pub async fn add_step(&self, id: &str, index: usize, report: &StepReport) -> anyhow::Result<()> {
        let (id, text) = (id.to_owned(), serde_json::to_string(report)?);
        self.blocking(move |connection, _| {
            connection.execute(
                "INSERT OR REPLACE INTO steps (run_seq, idx, report) SELECT seq, ?2, ?3 FROM runs WHERE id = ?1",
                params![id, index as i64, text],
            )?;
            connection.execute(
                "UPDATE runs SET bytes = (SELECT COALESCE(SUM(LENGTH(CAST(report AS BLOB))), 0) FROM steps WHERE run_seq = runs.seq)
                 WHERE id = ?1",
                [id],
            )?;
            Ok(())
        })
        .await
        .context("could not record the step")
    }

    /// Records how run `id` ended.
    pub async fn finish(&self, id: &str, status: RunStatus, finished_at: &str) -> anyhow::Result<()> {
        let (id, finished_at) = (id.to_owned(), finished_at.to_owned());
        self.blocking(move |connection, _| {
            connection.execute(
                "UPDATE runs SET status = ?2, finished_at = ?3 WHERE id = ?1",
                params![id, status.as_str(), finished_at],
            )?;
            Ok(())
        })
        .await
        .context("could not record the end of the run")
    }

    /// The run `id` with its steps, if it is kept.
    pub async fn get(&self, id: &str) -> anyhow::Result<Option<RunRecord>> {
        let id = id.to_owned();
        self.blocking(move |connection, _| {
            let Some((seq, summary, inputs, version)) = connection
                .query_row(
                    "SELECT seq, id, workflow, status, started_at, finished_at, 0, inputs, workflow_version
                     FROM runs WHERE id = ?1",
                    [&id],
                    |row| {
                        let inputs = row.get::<_, Option<String>>(7)?;
                        Ok((row.get::<_, i64>(0)?, summary_of(row)?, inputs, row.get::<_, Option<i64>>(8)?))
                    },
                )
                .optional()?
            else {
                return Ok(None);
            };
            let mut select = connection.prepare("SELECT idx, report FROM steps WHERE run_seq = ?1 ORDER BY idx")?;
            let rows = select.query_map([seq], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))?;
            let mut steps = Vec::new();
            for row in rows {
                let (index, text) = row?;
                match serde_json::from_str::<StepReport>(&text) {
                    Ok(step) => steps.push(step),
                    Err(e) => {
                        tracing::warn!(run = %id, step = index, error = %e, "a recorded step cannot be read; skipped")
                    }
                }
            }
            Ok(Some(RunRecord {
                id: summary.id,
                workflow: summary.workflow,
                status: summary.status,
                started_at: summary.started_at,
                finished_at: summary.finished_at,
                inputs: inputs.and_then(|text| serde_json::from_str(&text).ok()),
                workflow_version: version.map(|v| v as u64),
                steps,
                error: None,
                deliveries: None,
                tries: Vec::new(),
            }))
        })
        .await
    }

    /// The newest `limit` runs, newest first, without their steps.
    pub async fn list(&self, limit: usize) -> anyhow::Result<Vec<RunSummary>> {
        self.blocking(move |connection, _| {
            let mut select = connection.prepare(
                "SELECT seq, id, workflow, status, started_at, finished_at,
                        (SELECT COUNT(*) FROM steps WHERE run_seq = runs.seq)
                 FROM runs ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = select.query_map([limit as i64], summary_of)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, StoreLimits) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (connection, limits) = (self.connection.clone(), self.limits);
        tokio::task::spawn_blocking(move || work(&connection.lock().expect("run store lock"), limits))
            .await
            .context("the run store task failed")?
    }
}

/// Adds `runs.bytes` (the bytes of a run's steps) to a store made before
/// it existed, counted from the steps it holds.
/// Adds the columns a store made by an older host lacks: `bytes` (the
/// run's recorded step bytes), `inputs` (the run's inputs, as JSON) and
/// `workflow_version` (the stored workflow's version it ran).
fn add_columns(connection: &Connection) -> rusqlite::Result<()> {
    let present =
        |column: &str| connection.prepare("SELECT 1 FROM pragma_table_info('runs') WHERE name = ?1")?.exists([column]);
    if !present("bytes")? {
        connection.execute_batch(
            "ALTER TABLE runs ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
             UPDATE runs SET bytes = (SELECT COALESCE(SUM(LENGTH(CAST(report AS BLOB))), 0) FROM steps WHERE run_seq = runs.seq);",
        )?;
    }
    if !present("inputs")? {
        connection.execute_batch("ALTER TABLE runs ADD COLUMN inputs TEXT")?;
    }
    if !present("workflow_version")? {
        connection.execute_batch("ALTER TABLE runs ADD COLUMN workflow_version INTEGER")?;
    }
    Ok(())
}

/// A summary from a row of (seq, id, workflow, status, started_at,
/// finished_at, step count).
fn summary_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    let status: String = row.get(3)?;
    Ok(RunSummary {
        id: row.get(1)?,
        workflow: row.get(2)?,
        status: RunStatus::parse(&status),
        started_at: row.get(4)?,
        finished_at: row.get(5)?,
        steps: row.get::<_, i64>(6)? as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> RunRecord {
        RunRecord {
            id: id.into(),
            workflow: "w".into(),
            status: RunStatus::Running,
            started_at: "2026-11-27T00:00:00.000Z".into(),
            finished_at: None,
            inputs: None,
            workflow_version: None,
            steps: Vec::new(),
            error: None,
            deliveries: None,
            tries: Vec::new(),
        }
    }

    fn keep(runs: usize) -> StoreLimits {
        StoreLimits { keep_runs: runs, ..StoreLimits::default() }
    }

    fn step(id: &str) -> StepReport {
        StepReport::example(id, serde_json::json!({}), serde_json::json!({"ok": true}))
    }

    #[tokio::test]
    async fn keeps_runs_across_reopening_and_trims_the_oldest_finished() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRunStore::open(dir.path(), keep(3)).unwrap();
        store.create(&record("r0")).await.unwrap();
        for i in 1..5 {
            let id = format!("r{i}");
            store.create(&record(&id)).await.unwrap();
            store.add_step(&id, 0, &step("a")).await.unwrap();
            store.finish(&id, RunStatus::Succeeded, "2026-11-27T00:00:01.000Z").await.unwrap();
        }
        store.create(&record("r5")).await.unwrap();
        store.add_step("r5", 0, &step("a")).await.unwrap();
        store.add_step("r5", 1, &step("b")).await.unwrap();
        let listed = store.list(10).await.unwrap();
        let ids: Vec<&str> = listed.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r5", "r4", "r3", "r0"], "newest first; a run in progress is never trimmed");
        assert_eq!(listed[0].steps, 2);
        assert!(store.get("r1").await.unwrap().is_none());
        drop(store);
        let reopened = SqliteRunStore::open(dir.path(), keep(3)).unwrap();
        let interrupted = reopened.get("r5").await.unwrap().unwrap();
        assert_eq!(interrupted.status, RunStatus::Failed, "left running by a stopped host");
        assert!(interrupted.finished_at.is_some());
        assert_eq!(interrupted.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(reopened.get("r3").await.unwrap().unwrap().status, RunStatus::Succeeded);
    }

    #[tokio::test]
    async fn the_bytes_kept_are_bounded_oldest_finished_first() {
        let dir = tempfile::tempdir().unwrap();
        let size = step("a").recorded_bytes() as u64;
        let limits = StoreLimits { max_store_bytes: 3 * size, ..StoreLimits::default() };
        let store = SqliteRunStore::open(dir.path(), limits).unwrap();
        store.create(&record("running")).await.unwrap();
        store.add_step("running", 0, &step("a")).await.unwrap();
        store.add_step("running", 0, &step("a")).await.unwrap();
        for i in 0..4 {
            let id = format!("r{i}");
            store.create(&record(&id)).await.unwrap();
            store.add_step(&id, 0, &step("a")).await.unwrap();
            store.finish(&id, RunStatus::Succeeded, "2026-12-04T00:00:01.000Z").await.unwrap();
        }
        store.create(&record("last")).await.unwrap();
        let ids: Vec<String> = store.list(10).await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["last", "r3", "r2", "r1", "running"], "three finished runs fit; one in progress stays");
    }

    #[tokio::test]
    async fn a_store_from_before_the_byte_count_is_counted_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRunStore::open(dir.path(), StoreLimits::default()).unwrap();
        store.create(&record("old")).await.unwrap();
        store.add_step("old", 0, &step("a")).await.unwrap();
        store.blocking(|c, _| Ok(c.execute_batch("ALTER TABLE runs DROP COLUMN bytes")?)).await.unwrap();
        drop(store);
        let reopened = SqliteRunStore::open(dir.path(), StoreLimits::default()).unwrap();
        let bytes: i64 =
            reopened.blocking(|c, _| Ok(c.query_row("SELECT bytes FROM runs", [], |r| r.get(0))?)).await.unwrap();
        assert_eq!(bytes as usize, step("a").recorded_bytes());
    }

    #[tokio::test]
    async fn an_unreadable_step_is_skipped_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRunStore::open(dir.path(), keep(3)).unwrap();
        store.create(&record("r")).await.unwrap();
        store.add_step("r", 0, &step("a")).await.unwrap();
        store
            .blocking(|c, _| {
                Ok(c.execute("INSERT INTO steps (run_seq, idx, report) SELECT seq, 1, '{broken' FROM runs", [])?)
            })
            .await
            .unwrap();
        let run = store.get("r").await.unwrap().unwrap();
        assert_eq!(run.steps.len(), 1);
    }
}
