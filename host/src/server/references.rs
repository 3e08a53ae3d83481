//! The OCI references `serve --connector` serves. Each is pulled and loaded
//! at start; a tag is resolved again only when the operator asks
//! (`POST /v1/connectors/reload` or SIGHUP), never silently, so what a node
//! runs changes only on request.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::oci::OciReference;
use crate::runtime::{ComponentSource, Reloaded, Runtime};
use crate::server::AppState;

/// The references and whether each has been tried once.
pub(super) struct References {
    references: Vec<OciReference>,
    loaded: std::sync::atomic::AtomicBool,
    /// One reload at a time: two would pull and swap the same references.
    reloading: tokio::sync::Mutex<()>,
}

impl References {
    pub(super) fn new(references: Vec<OciReference>) -> Self {
        References {
            loaded: std::sync::atomic::AtomicBool::new(references.is_empty()),
            references,
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether every reference has been tried once.
    pub(super) fn is_loaded(&self) -> bool {
        self.loaded.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Pulls and loads every reference; one that fails is listed among the
    /// load errors.
    pub(super) async fn load(&self, runtime: &Runtime) {
        let _one_at_a_time = self.reloading.lock().await;
        for reference in &self.references {
            // A failure is logged and listed by the runtime.
            let _ = runtime.load_source(&ComponentSource::Oci(reference.clone())).await;
        }
        self.loaded.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Resolves every reference again and swaps in what changed.
    pub(super) async fn reload(&self, runtime: &Runtime) -> Vec<Value> {
        let _one_at_a_time = self.reloading.lock().await;
        let mut report = Vec::new();
        for reference in &self.references {
            let entry = match runtime.reload_reference(reference).await {
                Ok(Reloaded::Unchanged { pinned }) => {
                    json!({"reference": reference.to_string(), "pinned": pinned, "changed": false})
                }
                Ok(Reloaded::Changed { pinned, previous }) => json!({
                    "reference": reference.to_string(), "pinned": pinned, "changed": true, "previous": previous,
                }),
                Err(error) => json!({
                    "reference": reference.to_string(),
                    "error": {"kind": error.kind(), "message": error.to_string()},
                }),
            };
            report.push(entry);
        }
        report
    }
}

/// `POST /v1/connectors/reload`: resolves every `--connector` reference
/// again and serves what changed.
pub(super) async fn reload(State(state): State<AppState>) -> Json<Value> {
    let references = state.references.reload(&state.runtime).await;
    Json(json!({ "references": references }))
}

/// Reloads on every SIGHUP until the server stops.
pub(super) fn reload_on_hangup(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("SIGHUP cannot be watched; reload with POST /v1/connectors/reload");
            return;
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: resolving the --connector references again");
            state.references.reload(&state.runtime).await;
        }
    })
}
