//! Embedding the host in a program of your own, without HTTP: a runtime
//! that serves every connector of a directory (loading them as they come
//! and go), one invocation by name, and a recorded workflow run.
//!
//!     cargo run -p connector-host --example embed -- CONNECTOR_DIR ENDPOINT_URL
//!
//! ENDPOINT_URL is where AWS requests go (a local Cognito emulator in the
//! test that runs this example; leave it out for AWS itself).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use connector_host::workflow::{self, StepReport, Workflow};
use connector_host::{ConnectorHost, DirectoryWatch, Endpoints, HostConfig, Runtime, RuntimeEvent};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().context("usage: embed CONNECTOR_DIR [ENDPOINT_URL]")?;
    let endpoints = match args.next() {
        Some(url) => Endpoints::all_services(&url)?,
        None => Endpoints::aws_defaults(),
    };

    // One host: the engine, the sandbox limits, the signed-HTTP capability
    // and its credentials (the AWS SDK's default chain).
    let host = ConnectorHost::new(HostConfig { endpoints, ..HostConfig::default() }).await?;
    // A runtime serving the directory: connectors by name, swapped in as
    // their files change.
    let runtime = Runtime::new(host);
    let mut events = runtime.subscribe();
    let watch = DirectoryWatch::start(runtime.clone(), dir.as_ref())?;
    while !watch.is_ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while let Ok(event) = events.try_recv() {
        if let RuntimeEvent::Loaded { name, digest, .. } = event {
            println!("loaded {name} ({digest})");
        }
    }
    if runtime.get("aws-cognito").is_none() {
        bail!("no aws-cognito connector in {dir}: {:?}", runtime.load_errors());
    }

    // One call by name.
    let pool = runtime.invoke("aws-cognito", "create_user_pool", &json!({"pool_name": "Embedded Pool"})).await?;
    let pool_id = pool["UserPool"]["Id"].as_str().context("the output has UserPool.Id")?;
    println!("created pool {pool_id}");

    // A workflow, its steps reported as they end.
    let workflow: Workflow = serde_json::from_value(json!({
        "name": "A user in the embedded pool",
        "steps": [{"id": "user", "connector": "aws-cognito", "operation": "admin_create_user",
                   "input": {"user_pool_id": pool_id, "username": "embedded-user", "message_action": "SUPPRESS"}}]
    }))?;
    workflow.check()?;
    let connectors = BTreeMap::from([("aws-cognito".to_owned(), runtime.get("aws-cognito").unwrap())]);
    let inputs = workflow.accept_inputs(None).map_err(anyhow::Error::msg)?;
    let reports = workflow::run(runtime.host(), &workflow, &connectors, &inputs, |i: usize, report: &StepReport| {
        println!("{}", report.debug_view(i, 1));
    })
    .await;
    if reports.iter().any(StepReport::stopped_run) {
        bail!("the workflow failed");
    }
    println!("done");
    Ok(())
}
