//! Serving a directory of components: every `*.wasm` in it is loaded at
//! start and again whenever the directory changes, after the changes have
//! settled. Other file names are ignored, so an editor's or a copier's
//! temporary file is never loaded; a file caught half-written fails to
//! load and the version before it keeps serving until the finished file
//! loads. A removed file's connector is unloaded (calls in flight finish).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::error::{InvokeError, LoadError};
use crate::runtime::Runtime;

/// How long the directory must be quiet before it is read again.
const SETTLE: Duration = Duration::from_millis(250);

/// How long before a file that failed for a passing reason (a busy pool,
/// a name held by a file that may go) is tried again.
const RETRY: Duration = Duration::from_secs(2);

/// Passes over the directory in one reconcile, so that a file waiting for
/// a name another file gives up in the same change gets it at once.
const PASSES: usize = 4;

/// A directory being served. Dropping it stops the watch (connectors stay
/// loaded).
pub struct DirectoryWatch {
    ready: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    _watcher: notify::RecommendedWatcher,
}

impl DirectoryWatch {
    /// Starts serving `dir` into `runtime`: watches it at once and loads
    /// what it holds in the background ([`is_ready`](Self::is_ready) says
    /// when the first pass is done).
    pub fn start(runtime: Runtime, dir: &Path) -> anyhow::Result<DirectoryWatch> {
        let dir =
            dir.canonicalize().with_context(|| format!("the connector directory {} cannot be found", dir.display()))?;
        anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
        let (changed, mut changes) = mpsc::channel::<()>(1);
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|event| changes_files(&event.kind)) {
                // A full channel already holds a change to act on.
                let _ = changed.try_send(());
            }
        })
        .context("could not watch the connector directory")?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("could not watch {}", dir.display()))?;
        let ready = Arc::new(AtomicBool::new(false));
        let ready_flag = ready.clone();
        let task = tokio::spawn(async move {
            let mut files = BTreeMap::new();
            loop {
                reconcile(&runtime, &dir, &mut files).await;
                ready_flag.store(true, Ordering::Release);
                // A file that failed for a passing reason is tried again
                // after a while, even if nothing changes.
                let retrying = files.values().any(|f: &FileState| f.retry == Retry::Later);
                let change = if retrying {
                    match tokio::time::timeout(RETRY, changes.recv()).await {
                        Ok(change) => change,
                        Err(_quiet) => Some(()),
                    }
                } else {
                    changes.recv().await
                };
                if change.is_none() {
                    return;
                }
                // Let a burst of changes (a copy, an editor's save) settle.
                loop {
                    match tokio::time::timeout(SETTLE, changes.recv()).await {
                        Ok(Some(())) => continue,
                        Ok(None) => return,
                        Err(_quiet) => break,
                    }
                }
            }
        });
        Ok(DirectoryWatch { ready, task, _watcher: watcher })
    }

    /// True once every file present at start has been tried.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

impl Drop for DirectoryWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What was last seen of a file: enough to tell that it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

struct FileState {
    stamp: Stamp,
    /// Whether to try again even if unchanged.
    retry: Retry,
}

/// When a file whose bytes did not change is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Not until it changes.
    Never,
    /// At the directory's next change: its connector's name is held by
    /// another file, which a change may remove or rename.
    OnChange,
    /// After a while, change or not: the instance pool was busy.
    Later,
}

/// Whether an event can change what the directory serves. Opening or
/// reading a file cannot: the watch reads every file it loads, and taking
/// those reads for changes made it load a file refused for its name again
/// and again, several times a second.
fn changes_files(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Brings `runtime` in line with the `*.wasm` files of `dir`.
async fn reconcile(runtime: &Runtime, dir: &Path, files: &mut BTreeMap<PathBuf, FileState>) {
    for _ in 0..PASSES {
        let present = match components_in(dir) {
            Ok(present) => present,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %format!("{e:#}"), "could not read the connector directory");
                return;
            }
        };
        let mut changed = false;
        // New and changed files first, so that a successor (a renamed
        // file, the next version beside the last) loads before what it
        // replaces is unloaded; one waiting for a name loads next pass.
        for (path, stamp) in &present {
            if files.get(path).is_some_and(|seen| seen.stamp == *stamp && seen.retry == Retry::Never) {
                continue;
            }
            let loaded = runtime.load_path(path).await;
            changed |= loaded.is_ok();
            let retry = match loaded {
                Err(LoadError::NameConflict { .. }) => Retry::OnChange,
                Err(LoadError::DescribeFailed {
                    error: InvokeError::Busy { .. } | InvokeError::Timeout(_), ..
                }) => Retry::Later,
                _ => Retry::Never,
            };
            files.insert(path.clone(), FileState { stamp: stamp.clone(), retry });
        }
        let gone: Vec<PathBuf> = files.keys().filter(|p| !present.contains_key(*p)).cloned().collect();
        for path in gone {
            files.remove(&path);
            runtime.forget_path(&path);
            changed = true;
        }
        if !changed || files.values().all(|f| f.retry == Retry::Never) {
            return;
        }
    }
}

/// The `*.wasm` entries of `dir` (symbolic links followed), not hidden
/// ones: regular files, and anything else of the name (a directory, a
/// link to a device), which loading refuses with its reason, so that it
/// is listed rather than skipped in silence.
fn components_in(dir: &Path) -> anyhow::Result<BTreeMap<PathBuf, Stamp>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !name.ends_with(".wasm") {
            continue;
        }
        let path = entry.path();
        let Ok(metadata) = std::fs::metadata(&path) else { continue };
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        found.insert(path, Stamp { len: metadata.len(), modified: metadata.modified().ok(), inode });
    }
    Ok(found)
}
