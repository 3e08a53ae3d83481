//! A worker node's probes over HTTP: `/healthz`, `/readyz` and `/metrics`
//! (the host's and the worker's counts). Nothing else is served, so the
//! probes need no token; they say nothing a run carries.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::header;
use axum::routing::get;

use crate::queue::Worker;

/// Serves `worker`'s probes on `listen` in the background; returns the
/// address bound.
pub async fn serve_probes(listen: SocketAddr, worker: Arc<Worker>) -> anyhow::Result<SocketAddr> {
    let app =
        Router::new().route("/healthz", get(|| async { "ok\n" })).route("/readyz", get(|| async { "ready\n" })).route(
            "/metrics",
            get(move || {
                let worker = worker.clone();
                async move {
                    let text = worker.metrics_text();
                    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
                }
            }),
        );
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("could not listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the probe server stopped");
        }
    });
    Ok(addr)
}
