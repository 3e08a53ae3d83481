//! `serve`: one long-lived host over HTTP. Connectors come from a watched
//! directory and are called by name; workflows run as recorded runs; the
//! process reports health, readiness and metrics and describes its API
//! as OpenAPI; people use the same through a web console. A thin layer over [`Runtime`] and [`RunStore`]: every
//! behaviour here is the library's.
//!
//! Guards against: callers without the API token (every `/v1/*` request
//! needs it when one is set, compared in constant time; without one the
//! server only listens on loopback), clients that hold connections or send
//! bodies without end (`listener`), unbounded queues (a full instance pool
//! or too many runs answer 503 at once), and losing work on shutdown
//! (SIGTERM stops accepting and lets calls and runs finish, bounded by the
//! invocation deadline).

mod api;
mod auth;
mod console;
mod listener;
pub mod mcp;
mod mcp_sessions;
mod openapi;
mod probes;
mod references;
mod runs;
mod workflows;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post};
use tokio::sync::Semaphore;

use crate::oci::OciReference;
use crate::queue::{ExistingBounds, Queue, QueueBounds};

use crate::runtime::{DirectoryWatch, Runtime};
use crate::workflow::{RunStore, StoreLimits, WorkflowLibrary};
pub use listener::ConnectionLimits;
pub use probes::serve_probes;

/// How a server runs.
#[derive(Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The directory of components to serve, watched for changes.
    pub connectors: Option<PathBuf>,
    /// Components in OCI registries to serve beside the directory's.
    pub references: Vec<OciReference>,
    /// Where the run store lives.
    pub data_dir: PathBuf,
    /// What the run store keeps.
    pub store: StoreLimits,
    /// The bearer token `/v1/*` requires; `None` is allowed on loopback only.
    pub api_token: Option<String>,
    /// What clients may hold: connections, and time and bytes for a
    /// request.
    pub connections: ConnectionLimits,
    /// Runs that may be in progress at once; more answer 503.
    pub max_runs: usize,
    /// What `/mcp` offers.
    pub mcp: mcp::McpOptions,
    /// The queue runs go to (`nats://HOST:PORT`): with one, workers run
    /// them and records are kept where every node reads them; without,
    /// this server runs them and keeps records in its data directory.
    pub queue: Option<String>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("listen", &self.listen)
            .field("connectors", &self.connectors)
            .field("references", &self.references)
            .field("data_dir", &self.data_dir)
            .field("store", &self.store)
            .field("api_token", &self.api_token.as_ref().map(|_| "<set>"))
            .field("connections", &self.connections)
            .field("max_runs", &self.max_runs)
            .field("mcp", &self.mcp)
            .field("queue", &self.queue)
            .finish()
    }
}

impl ServeOptions {
    /// The data directory under the XDG data home
    /// (`$XDG_DATA_HOME/connector-host`, or `~/.local/share/connector-host`).
    pub fn default_data_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))?;
        Some(base.join("connector-host"))
    }
}

/// What every handler shares, behind one pointer: axum clones the state
/// for every request and again for each layer that takes it. Cloning and
/// dropping the fields one by one was 2.4% of a busy server's profile.
#[derive(Clone)]
struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

struct Shared {
    runtime: Runtime,
    store: RunStore,
    watch: Option<Arc<DirectoryWatch>>,
    references: Arc<references::References>,
    token: Option<Arc<auth::Token>>,
    /// One permit per run in progress.
    runs: Arc<Semaphore>,
    max_runs: usize,
    /// The web console's signed-in browsers.
    sessions: Arc<console::Sessions>,
    /// Wrong tokens offered, per client address.
    guesses: auth::GuessThrottle,
    /// Wrong webhook secrets offered, per client address.
    hook_guesses: auth::GuessThrottle,
    /// Where runs go, when workers run them.
    queue: Option<Queue>,
    /// Stored workflows and their webhooks.
    library: WorkflowLibrary,
}

/// Serves `runtime` as `options` say until `shutdown` completes, then lets
/// calls and runs in flight finish (at most the invocation deadline) and
/// returns. Announces the address it listens on, on stdout.
pub async fn serve(
    runtime: Runtime,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let server = Server::bind(runtime.clone(), options).await?;
    while !server.is_ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runtime.host().warn_unused_endpoint_variables(&runtime.list());
    // A grant that selects none of the directory's connectors is a
    // mistake: the connector it meant would run unrestricted.
    let unused: Vec<String> = runtime.host().unused_grants().iter().map(|rule| rule.selector.to_string()).collect();
    if !unused.is_empty() {
        bail!(
            "--grant for {} selects no connector served (in serve, a connector's alias is its file name without \
             .wasm, or the last part of its OCI repository)",
            unused.join(", ")
        );
    }
    // On stdout, so a supervisor (or a test) that asked for port 0 learns
    // the port.
    println!("listening on http://{}", server.local_addr());
    server.run(shutdown).await
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Router,
    state: AppState,
    local_addr: SocketAddr,
    connections: ConnectionLimits,
}

impl Server {
    /// Opens the run store, starts watching the connector directory and
    /// binds the listening socket.
    pub async fn bind(runtime: Runtime, options: ServeOptions) -> anyhow::Result<Server> {
        if options.api_token.is_none() && !options.listen.ip().is_loopback() {
            bail!(
                "refusing to listen on {} without an API token: set CONNECTOR_HOST_API_TOKEN or --api-token-file, \
                 or listen on a loopback address",
                options.listen
            );
        }
        if options.api_token.as_deref().is_some_and(str::is_empty) {
            bail!("the API token is empty");
        }
        if options.connectors.is_none() && options.references.is_empty() && options.queue.is_none() {
            bail!("nothing to serve: give --connectors DIR, --connector oci://..., or both (or --queue)");
        }
        let queue = match &options.queue {
            Some(url) => {
                let bounds = QueueBounds { max_pending: options.max_runs, records: options.store };
                Some(Queue::connect(url, "serve", bounds, ExistingBounds::Replace).await?)
            }
            None => None,
        };
        let store = match &queue {
            Some(queue) => RunStore::Shared(queue.records().clone()),
            None => RunStore::open(&options.data_dir, options.store)?,
        };
        let library = match &queue {
            Some(queue) => queue.workflows().await?,
            None => WorkflowLibrary::open(&options.data_dir)?,
        };
        let watch = match &options.connectors {
            Some(dir) => Some(Arc::new(DirectoryWatch::start(runtime.clone(), dir)?)),
            None => None,
        };
        let references = Arc::new(references::References::new(options.references.clone()));
        tokio::spawn({
            let (references, runtime) = (references.clone(), runtime.clone());
            async move { references.load(&runtime).await }
        });
        let state = AppState(Arc::new(Shared {
            runtime,
            store,
            watch,
            references,
            token: options.api_token.as_deref().map(|t| Arc::new(auth::Token::new(t))),
            runs: Arc::new(Semaphore::new(options.max_runs)),
            max_runs: options.max_runs,
            sessions: Arc::default(),
            guesses: auth::GuessThrottle::default(),
            hook_guesses: auth::GuessThrottle::default(),
            queue,
            library,
        }));
        let mcp = {
            let server = mcp::McpServer::new(state.runtime.clone(), options.mcp.clone()).with_workflows(state.clone());
            let mut config = rmcp::transport::streamable_http_server::StreamableHttpServerConfig::default();
            if state.token.is_some() {
                // With a token, any Host may call (the token, which a
                // browser page cannot attach, is the guard against DNS
                // rebinding); without one the server is on loopback and
                // rmcp's loopback-only Host check stays.
                config = config.disable_allowed_hosts();
            }
            let max_sessions = std::num::NonZeroUsize::new(options.connections.max_mcp_sessions)
                .context("--max-mcp-sessions must be at least 1")?;
            rmcp::transport::streamable_http_server::StreamableHttpService::new(
                move || Ok(server.clone()),
                Arc::new(mcp_sessions::BoundedSessions::new(max_sessions)),
                config,
            )
        };
        let guarded = Router::new()
            .nest_service("/mcp", mcp)
            .route("/v1/connectors", get(api::list_connectors))
            .route("/v1/connectors/reload", post(references::reload))
            .route("/v1/connectors/{name}", get(api::get_connector))
            .route("/v1/connectors/{name}/operations/{operation}", post(api::invoke))
            .route("/v1/runs", post(runs::start).get(runs::list))
            .route("/v1/runs/{id}", get(runs::get))
            .route("/v1/workflows", get(workflows::list))
            .route("/v1/workflows/{name}", get(workflows::get).put(workflows::save).delete(workflows::delete))
            .route("/v1/workflows/{name}/runs", post(workflows::run))
            .route("/v1/workflows/{name}/hooks", post(workflows::add_hook).get(workflows::list_hooks))
            .route("/v1/workflows/{name}/hooks/{id}", delete(workflows::delete_hook))
            .route(
                "/v1/workflows/{name}/schedule",
                get(workflows::get_schedule).put(workflows::set_schedule).delete(workflows::delete_schedule),
            )
            .route("/metrics", get(api::metrics))
            .route("/openapi.json", get(openapi::document))
            .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token));
        let app = Router::new()
            .merge(guarded)
            .merge(console::router(state.clone()))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(api::ready))
            // A webhook proves itself with its own secret, not the API token.
            .route("/v1/hooks/{id}", post(workflows::trigger))
            .layer(from_fn_with_state(state.clone(), auth::check_origin))
            .layer(DefaultBodyLimit::max(options.connections.max_body_bytes))
            .with_state(state.clone())
            .layer(from_fn_with_state(Arc::new(options.connections.clone()), listener::bound_body));
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("could not listen on {}", options.listen))?;
        let local_addr = listener.local_addr()?;
        tracing::info!(listen = %local_addr, connectors = ?options.connectors,
            references = ?options.references.iter().map(ToString::to_string).collect::<Vec<_>>(), "serving");
        Ok(Server { listener, app, state, local_addr, connections: options.connections })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the connector directory and references have been loaded
    /// once.
    pub fn is_ready(&self) -> bool {
        self.state.is_ready()
    }

    /// Serves until `shutdown` completes, then lets calls and runs in
    /// flight finish (at most the invocation deadline).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Server { listener, app, state, connections, .. } = self;
        let hangups = references::reload_on_hangup(state.clone());
        let schedules = tokio::spawn(workflows::run_schedules(state.clone()));
        let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
        let mut server = tokio::spawn(async move {
            let shutdown = async move {
                shutdown.await;
                let _ = stopping_tx.send(true);
            };
            listener::serve_connections(listener, app, &connections, shutdown).await;
        });
        let stopped_by_itself = tokio::select! {
            biased;
            _ = stopping.wait_for(|stopping| *stopping) => None,
            ended = &mut server => Some(ended),
        };
        schedules.abort();
        if let Some(ended) = stopped_by_itself {
            hangups.abort();
            // The server task failed; runs in flight still get their grace.
            state.drain(None).await;
            ended.context("the server task failed")?;
            bail!("the server stopped accepting connections");
        }
        tracing::info!("stopping: no new requests; letting calls and runs in flight finish");
        hangups.abort();
        state.drain(Some(server)).await;
        Ok(())
    }
}

impl Shared {
    fn is_ready(&self) -> bool {
        self.watch.as_ref().is_none_or(|watch| watch.is_ready()) && self.references.is_loaded()
    }

    /// Waits for the server's connections (when given) and every run in
    /// progress to end, at most the invocation deadline and a little more:
    /// a run cut short is marked failed at the next start.
    async fn drain(&self, server: Option<tokio::task::JoinHandle<()>>) {
        let grace = self.runtime.host().invocation_timeout() + Duration::from_secs(5);
        let drained = async {
            if let Some(server) = server {
                let _ = server.await;
            }
            // Every run gives its permit back when it ends.
            let _ = self.runs.acquire_many(self.max_runs as u32).await;
        };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "calls or runs still in flight after the grace period");
        }
    }
}

/// Completes on SIGTERM or SIGINT: the `shutdown` an embedder passes to
/// [`serve`] to stop as the command line does.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
