//! Where runs are recorded: an embedded SQLite database in the data
//! directory. Each run is one row holding its record as JSON, rewritten as
//! each step ends, so a run's steps survive a crash or a restart; the
//! number of runs kept is bounded, oldest first out.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use crate::workflow::{RunRecord, RunStatus};

/// The run store. Cheap to clone; calls run on a blocking thread.
#[derive(Clone)]
pub struct RunStore {
    connection: Arc<Mutex<Connection>>,
    keep: usize,
}

impl RunStore {
    /// Opens (or creates) `runs.sqlite3` in `dir`, keeping at most `keep`
    /// runs. Runs left `running` by a host that stopped are marked failed.
    pub fn open(dir: &Path, keep: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the data directory {}", dir.display()))?;
        let path = dir.join("runs.sqlite3");
        let connection =
            Connection::open(&path).with_context(|| format!("could not open the run store {}", path.display()))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 CREATE TABLE IF NOT EXISTS runs (
                     seq INTEGER PRIMARY KEY AUTOINCREMENT,
                     id TEXT NOT NULL UNIQUE,
                     status TEXT NOT NULL,
                     record TEXT NOT NULL
                 );",
            )
            .with_context(|| format!("could not set up the run store {}", path.display()))?;
        let store = RunStore { connection: Arc::new(Mutex::new(connection)), keep: keep.max(1) };
        store.fail_interrupted()?;
        Ok(store)
    }

    fn fail_interrupted(&self) -> anyhow::Result<()> {
        let connection = self.connection.lock().expect("run store lock");
        let mut select = connection.prepare("SELECT record FROM runs WHERE status = 'running'")?;
        let interrupted: Vec<String> = select.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
        drop(select);
        for text in interrupted {
            let mut record: RunRecord = serde_json::from_str(&text).context("a stored run record is not valid")?;
            record.status = RunStatus::Failed;
            record.finished_at.get_or_insert_with(|| crate::workflow::timestamp(std::time::SystemTime::now()));
            tracing::warn!(run = %record.id, "a run was interrupted by a stop of the host; it is marked failed");
            connection.execute(
                "UPDATE runs SET status = ?1, record = ?2 WHERE id = ?3",
                params![record.status.as_str(), serde_json::to_string(&record)?, record.id],
            )?;
        }
        Ok(())
    }

    /// Writes `record`, new or updated; trims the oldest runs past the
    /// bound when it is new.
    pub async fn save(&self, record: &RunRecord) -> anyhow::Result<()> {
        let text = serde_json::to_string(record)?;
        let (id, status) = (record.id.clone(), record.status.as_str());
        self.blocking(move |connection, keep| {
            let updated = connection
                .execute("UPDATE runs SET status = ?1, record = ?2 WHERE id = ?3", params![status, text, id])?;
            if updated == 0 {
                connection
                    .execute("INSERT INTO runs (id, status, record) VALUES (?1, ?2, ?3)", params![id, status, text])?;
                connection.execute(
                    "DELETE FROM runs WHERE seq <= (SELECT seq FROM runs ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
                    params![keep as i64],
                )?;
            }
            Ok(())
        })
        .await
        .context("could not record the run")
    }

    /// The run `id`, if it is kept.
    pub async fn get(&self, id: &str) -> anyhow::Result<Option<RunRecord>> {
        let id = id.to_owned();
        let text: Option<String> = self
            .blocking(move |connection, _| {
                Ok(connection.query_row("SELECT record FROM runs WHERE id = ?1", [id], |row| row.get(0)).optional()?)
            })
            .await?;
        text.map(|t| serde_json::from_str(&t).context("a stored run record is not valid")).transpose()
    }

    /// The newest `limit` runs, newest first.
    pub async fn list(&self, limit: usize) -> anyhow::Result<Vec<RunRecord>> {
        let texts: Vec<String> = self
            .blocking(move |connection, _| {
                let mut select = connection.prepare("SELECT record FROM runs ORDER BY seq DESC LIMIT ?1")?;
                let rows = select.query_map([limit as i64], |row| row.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        texts.iter().map(|t| serde_json::from_str(t).context("a stored run record is not valid")).collect()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, usize) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (connection, keep) = (self.connection.clone(), self.keep);
        tokio::task::spawn_blocking(move || work(&connection.lock().expect("run store lock"), keep))
            .await
            .context("the run store task failed")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, status: RunStatus) -> RunRecord {
        RunRecord {
            id: id.into(),
            workflow: "w".into(),
            status,
            started_at: "2026-11-27T00:00:00.000Z".into(),
            finished_at: None,
            steps: Vec::new(),
        }
    }

    #[tokio::test]
    async fn keeps_runs_across_reopening_and_trims_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path(), 3).unwrap();
        for i in 0..5 {
            store.save(&record(&format!("r{i}"), RunStatus::Succeeded)).await.unwrap();
        }
        store.save(&record("r4", RunStatus::Running)).await.unwrap();
        let ids: Vec<String> = store.list(10).await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["r4", "r3", "r2"], "newest first, three kept; an update is no new run");
        assert!(store.get("r0").await.unwrap().is_none());
        drop(store);
        let reopened = RunStore::open(dir.path(), 3).unwrap();
        let interrupted = reopened.get("r4").await.unwrap().unwrap();
        assert_eq!(interrupted.status, RunStatus::Failed, "left running by a stopped host");
        assert!(interrupted.finished_at.is_some());
        assert_eq!(reopened.get("r3").await.unwrap().unwrap().status, RunStatus::Succeeded);
    }
}
