//! Runs the seed workflow (host/workflows/marketing-department.json) end to
//! end against a local Cognito emulator that it starts and stops itself:
//! creates the user pool "Marketing Department", then the user
//! "exampleUsername" in it, printing each step's input and output.
//!
//!     cargo run -p connector-tests --bin seed-demo [-- --emulator moto|ministack]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use connector_host::workflow::{StepOutcome, Workflow};
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for, run_workflow};

#[tokio::main]
async fn main() -> ExitCode {
    let kind = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Kind::Moto,
        [flag, name] if flag == "--emulator" && name == "moto" => Kind::Moto,
        [flag, name] if flag == "--emulator" && name == "ministack" => Kind::Ministack { auth: false },
        _ => {
            eprintln!("usage: seed-demo [--emulator moto|ministack]");
            return ExitCode::from(2);
        }
    };
    let workflow_path = connector_tests::seed_workflow_path();
    let workflow = match Workflow::from_file(&workflow_path) {
        Ok(workflow) => workflow,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };

    eprintln!("Starting {kind:?} (pinned in tests/emulators/requirements.lock) on loopback...");
    let emulator = Emulator::start(kind);
    eprintln!("Cognito emulator at {}; running {}\n", emulator.endpoint(), workflow_path.display());
    let host = host_for(&emulator.endpoint()).await;
    let components = BTreeMap::from([("cognito".to_owned(), PathBuf::from(components::GUEST_COGNITO))]);
    let total = workflow.steps.len();
    let result =
        run_workflow(&host, &workflow, &components, |i, report| println!("{}", report.debug_view(i, total))).await;
    drop(emulator);
    match result {
        Ok(reports) if reports.iter().all(|r| matches!(r.outcome, StepOutcome::Output(_))) => {
            eprintln!("Done: {} steps succeeded; the emulator is stopped.", reports.len());
            ExitCode::SUCCESS
        }
        Ok(reports) => {
            eprintln!("error: the workflow stopped at step {} of {total}", reports.len());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
