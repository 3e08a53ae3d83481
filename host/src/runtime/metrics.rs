//! What a running host counts, in Prometheus text form: invocations by
//! connector, operation and outcome, their latency, how many are in
//! flight, connector loads and load failures, and signed-HTTP retries.
//!
//! Labels carry only names the host knows (loaded connectors, their
//! declared operations, error kinds), never a name from a request, so a
//! client cannot grow the label sets without bound.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// The host's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    invocations: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    in_flight: Gauge<i64, std::sync::atomic::AtomicI64>,
    loads: Counter,
    load_failures: Counter,
    connectors: Gauge,
}

impl Metrics {
    /// Metrics that include `retries`, which the signed-HTTP capability
    /// counts.
    pub(crate) fn new(retries: Counter<u64, AtomicU64>) -> Self {
        let mut registry = Registry::with_prefix("connector_host");
        let invocations = Family::<Labels, Counter>::default();
        registry.register("invocations", "Invocations by connector, operation and outcome", invocations.clone());
        let latency: Family<Labels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_25, 2.0, 18)));
        registry.register("invocation_duration_seconds", "How long invocations took, by connector", latency.clone());
        let in_flight = Gauge::default();
        registry.register("invocations_in_flight", "Invocations running now", in_flight.clone());
        let loads = Counter::default();
        registry.register("loads", "Connectors loaded", loads.clone());
        let load_failures = Counter::default();
        registry.register("load_failures", "Components that failed to load", load_failures.clone());
        let connectors = Gauge::default();
        registry.register("connectors", "Connectors a runtime serves", connectors.clone());
        registry.register("signed_http_retries", "Signed-HTTP requests sent again after a failure", retries.clone());
        Metrics { registry, invocations, latency, in_flight, loads, load_failures, connectors }
    }

    /// Counts an invocation in flight until the guard is dropped.
    pub(crate) fn start(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight { metrics: self }
    }

    /// Records an invocation that ended with `outcome` (`ok` or an error
    /// kind) after `seconds`.
    pub(crate) fn record(&self, connector: &str, operation: &str, outcome: &str, seconds: f64) {
        let labels = vec![
            ("connector", connector.to_owned()),
            ("operation", operation.to_owned()),
            ("outcome", outcome.to_owned()),
        ];
        self.invocations.get_or_create(&labels).inc();
        self.latency.get_or_create(&vec![("connector", connector.to_owned())]).observe(seconds);
    }

    pub(crate) fn loaded<T, E>(&self, result: &Result<T, E>) {
        match result {
            Ok(_) => self.loads.inc(),
            Err(_) => self.load_failures.inc(),
        };
    }

    /// Sets how many connectors a runtime serves.
    pub(crate) fn set_connectors(&self, count: usize) {
        self.connectors.set(count as i64);
    }

    /// The metrics in the Prometheus text format.
    pub(crate) fn text(&self) -> String {
        self.text_with(None)
    }

    /// The metrics and `extra`'s (a queue node's own), in one document.
    pub(crate) fn text_with(&self, extra: Option<&Registry>) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut text, &self.registry);
        if let Some(extra) = extra {
            let _ = encode_registry(&mut text, extra);
        }
        let _ = encode_eof(&mut text);
        text
    }
}

/// An invocation in flight.
pub(crate) struct InFlight<'a> {
    metrics: &'a Metrics,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_every_family() {
        let retries = Counter::default();
        let metrics = Metrics::new(retries.clone());
        {
            let _running = metrics.start();
            metrics.record("aws-cognito", "create_user_pool", "ok", 0.002);
        }
        metrics.loaded(&Ok::<(), ()>(()));
        metrics.loaded(&Err::<(), ()>(()));
        retries.inc();
        let text = metrics.text();
        for line in [
            r#"connector_host_invocations_total{connector="aws-cognito",operation="create_user_pool",outcome="ok"} 1"#,
            "connector_host_invocations_in_flight 0",
            "connector_host_loads_total 1",
            "connector_host_load_failures_total 1",
            "connector_host_signed_http_retries_total 1",
            r#"connector_host_invocation_duration_seconds_count{connector="aws-cognito"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
