//! How `serve` and `worker` stop: the first SIGTERM or SIGINT starts a
//! drain; a second ends the process at once, for an operator who will not
//! wait for runs in flight.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Completes on the first SIGTERM or SIGINT. Both are listened for from
/// the first poll, so a second signal is never missed; it exits the
/// process with 128 plus its number, as a shell reports a signal's end.
pub(crate) async fn shutdown_signal() {
    let (Ok(mut terminate), Ok(mut interrupt)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        // No signal handling (never on Unix): the process ends the usual way.
        return std::future::pending().await;
    };
    let first = next(&mut terminate, &mut interrupt).await;
    tracing::info!(signal = first.name, "stopping: waiting for runs in flight (a second signal stops at once)");
    tokio::spawn(async move {
        let second = next(&mut terminate, &mut interrupt).await;
        tracing::warn!(signal = second.name, "a second signal: stopping at once, without waiting for runs in flight");
        std::process::exit(128 + second.number);
    });
}

struct Received {
    name: &'static str,
    number: i32,
}

async fn next(terminate: &mut Signal, interrupt: &mut Signal) -> Received {
    tokio::select! {
        _ = terminate.recv() => Received { name: "SIGTERM", number: 15 },
        _ = interrupt.recv() => Received { name: "SIGINT", number: 2 },
    }
}
