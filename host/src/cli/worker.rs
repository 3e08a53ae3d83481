//! `connector-host worker`: a node that runs the runs `serve --queue`
//! nodes put on the queue (see `queue`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::cli::{GlobalArgs, StoreArgs, new_host};
use connector_host::OciReference;
use connector_host::queue::{ExistingBounds, Queue, QueueBounds, Worker, WorkerOptions};
use connector_host::{ComponentSource, DirectoryWatch, Runtime};

/// Take runs from a queue and run them with the connectors of a directory
/// or registry, recording each step where every node reads it.
#[derive(Debug, Args)]
pub(super) struct WorkerArgs {
    /// The NATS server with JetStream the runs come from, nats://HOST:PORT.
    #[arg(long, value_name = "URL")]
    queue: String,
    /// Directory of connector components (`*.wasm`), watched for changes.
    #[arg(long, value_name = "DIR", required_unless_present = "references")]
    connectors: Option<PathBuf>,
    /// A connector in an OCI registry, oci://REGISTRY/REPOSITORY:TAG or
    /// @sha256:DIGEST (repeatable), pulled at start.
    #[arg(long = "connector", value_name = "OCI_REFERENCE")]
    references: Vec<OciReference>,
    /// Runs this worker runs at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    concurrency: u64,
    /// Deliveries of one run before it fails for good (a run is delivered
    /// again when its worker stops, or a step fails in a way that may pass).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    max_deliveries: u64,
    /// This node's name in logs and in the queue's client list (default:
    /// the one kept in the data directory, made on first start).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Where the worker keeps its node name (default:
    /// $XDG_DATA_HOME/connector-host).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Serve /healthz, /readyz and /metrics on this address.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// What the queue's run records keep (a worker that creates them sets
    /// their bounds; `serve --queue` sets its own over them).
    #[command(flatten)]
    store: StoreArgs,
}

pub(super) async fn run(global: &GlobalArgs, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let name = match args.name {
        Some(name) => name,
        None => {
            let dir = match args.data_dir {
                Some(dir) => dir,
                None => connector_host::server::ServeOptions::default_data_dir()
                    .context("no data directory: pass --data-dir or --name (HOME is not set)")?,
            };
            node_name(&dir)?
        }
    };
    let runtime = Runtime::new(new_host(global).await?);
    let watch = match &args.connectors {
        Some(dir) => Some(DirectoryWatch::start(runtime.clone(), dir)?),
        None => None,
    };
    for reference in &args.references {
        runtime
            .load_source(&ComponentSource::Oci(reference.clone()))
            .await
            .with_context(|| format!("could not load {reference}"))?;
    }
    while watch.as_ref().is_some_and(|watch| !watch.is_ready()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runtime.host().warn_unused_endpoint_variables(&runtime.list());
    let bounds = QueueBounds { records: args.store.limits(), ..QueueBounds::default() };
    let queue = Queue::connect(&args.queue, &name, bounds, ExistingBounds::Keep).await?;
    let options =
        WorkerOptions { concurrency: args.concurrency as usize, max_deliveries: args.max_deliveries, node: name };
    let worker = Arc::new(Worker::new(runtime, queue, options));
    if let Some(listen) = args.listen {
        let addr = connector_host::server::serve_probes(listen, worker.clone()).await?;
        println!("listening on http://{addr}");
    }
    worker.run(super::signals::shutdown_signal()).await?;
    drop(watch);
    Ok(ExitCode::SUCCESS)
}

/// The node name kept in `dir`, made (`worker-` and random hex) on first
/// start so a node keeps its name across restarts.
fn node_name(dir: &std::path::Path) -> anyhow::Result<String> {
    let path = dir.join("node-name");
    if let Ok(name) = std::fs::read_to_string(&path) {
        let name = name.trim();
        if connector_host::is_alias(name) {
            return Ok(name.to_owned());
        }
        tracing::warn!(file = %path.display(), "the node name kept here is not a name; making a new one");
    }
    let name = format!("worker-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    std::fs::create_dir_all(dir).with_context(|| format!("could not create the data directory {}", dir.display()))?;
    std::fs::write(&path, format!("{name}\n")).with_context(|| format!("could not write {}", path.display()))?;
    Ok(name)
}
