//! Running one operation: a fresh Store per invocation from the connector's
//! `InstancePre`, with its memory cap, epoch deadline and wall-clock timeout,
//! an empty WASI context, and the signed-HTTP capability as the only import
//! that reaches outside. Every way the call can end is mapped to an
//! [`InvokeError`] kind.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, PoolConcurrencyLimitError, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::connector::api::{signed_http, types};
use crate::bindings::{Plugin, exports};
use crate::engine::{SandboxLimits, deadline_ticks};
use crate::error::InvokeError;
use crate::guest_output::GuestOutput;
use crate::plugin::Connector;
use crate::signed_http::{CapabilitySession, HttpRequest, SendError, SignedHttp};

/// Everything one invocation's Store holds.
pub struct InvocationState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryCap,
    capability: CapabilitySession,
}

/// The linker with WASI and the signed-HTTP capability.
pub(crate) fn new_linker(engine: &Engine) -> anyhow::Result<Linker<InvocationState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Plugin::add_to_linker::<InvocationState, HasSelf<InvocationState>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// A fresh Store for one invocation of `connector`.
fn new_store(
    engine: &Engine,
    connector: &Connector,
    http: &Arc<SignedHttp>,
    limits: &SandboxLimits,
) -> (Store<InvocationState>, GuestOutput) {
    let name = connector.inner.name.clone();
    let stderr = GuestOutput::new(name.clone(), "stderr", limits.max_log_bytes);
    // No arguments, environment, preopened directories or network: the
    // builder's defaults grant none of them.
    let wasi = WasiCtxBuilder::new()
        .stdout(GuestOutput::new(name.clone(), "stdout", limits.max_log_bytes))
        .stderr(stderr.clone())
        .build();
    let state = InvocationState {
        wasi,
        table: ResourceTable::new(),
        memory: MemoryCap { limit: limits.memory_bytes, hit: false },
        capability: CapabilitySession::new(http.clone(), name, connector.inner.grant.clone()),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.memory);
    store.set_epoch_deadline(deadline_ticks(limits.timeout));
    store.epoch_deadline_trap();
    (store, stderr)
}

/// Instantiates `connector` in a fresh Store and runs `call` on it, with the
/// deadline and limits applied and failures mapped to [`InvokeError`].
pub(crate) async fn with_instance<T>(
    engine: &Engine,
    connector: &Connector,
    http: &Arc<SignedHttp>,
    limits: &SandboxLimits,
    call: impl AsyncFnOnce(&exports::connector::api::connector::Guest, &mut Store<InvocationState>) -> wasmtime::Result<T>,
) -> Result<T, InvokeError> {
    let (mut store, stderr) = new_store(engine, connector, http, limits);
    let run = async {
        let instance = connector.inner.pre.instantiate_async(&mut store).await?;
        call(instance.connector_api_connector(), &mut store).await
    };
    // Epochs do not fire while the guest waits in a host call (an HTTP
    // request), so the wall-clock timeout backs the epoch deadline.
    let result = match tokio::time::timeout(limits.timeout, run).await {
        Err(_elapsed) => return Err(InvokeError::Timeout(limits.timeout)),
        Ok(result) => result,
    };
    result.map_err(|error| classify_trap(error, store.data().memory.hit, limits, &stderr))
}

/// Runs `operation` with `input` (JSON text) and returns the output JSON.
/// `input` is owned because the WIT `json` alias binds as `&String`.
pub(crate) async fn invoke(
    engine: &Engine,
    connector: &Connector,
    http: &Arc<SignedHttp>,
    limits: &SandboxLimits,
    operation: &str,
    input: String,
) -> Result<serde_json::Value, InvokeError> {
    if connector.manifest().operation(operation).is_none() {
        return Err(InvokeError::UnknownOperation(format!(
            "`{operation}` is not an operation of {} (see `describe`)",
            connector.name()
        )));
    }
    let result = with_instance(engine, connector, http, limits, async |guest, store| {
        guest.call_invoke(store, operation, &input).await
    })
    .await?;
    let output = result.map_err(from_guest_error)?;
    if output.len() > limits.max_output_bytes {
        return Err(InvokeError::OutputTooLarge { size: output.len(), limit: limits.max_output_bytes });
    }
    serde_json::from_str(&output).map_err(|e| InvokeError::InvalidOutput(e.to_string()))
}

fn from_guest_error(error: types::Error) -> InvokeError {
    match error {
        types::Error::InvalidInput(m) => InvokeError::InvalidInput(m),
        types::Error::UnknownOperation(m) => InvokeError::UnknownOperation(m),
        types::Error::Service(e) => {
            InvokeError::Service { code: e.code, message: e.message, status: e.status, retryable: e.retryable }
        }
        types::Error::Host(m) => InvokeError::Capability(m),
        types::Error::Internal(m) => InvokeError::Connector(m),
    }
}

fn classify_trap(
    error: wasmtime::Error,
    memory_hit: bool,
    limits: &SandboxLimits,
    stderr: &GuestOutput,
) -> InvokeError {
    if memory_hit {
        return InvokeError::MemoryLimit(limits.memory_bytes);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => InvokeError::Timeout(limits.timeout),
        Some(Trap::StackOverflow) => InvokeError::Trap("stack overflow".into()),
        Some(trap) => {
            let detail = stderr.panic_message().unwrap_or_else(|| trap.to_string());
            InvokeError::Trap(detail)
        }
        None if error.downcast_ref::<PoolConcurrencyLimitError>().is_some() => InvokeError::Host(anyhow::anyhow!(
            "no free instance slot: {} invocations are already running (raise the pool size)",
            limits.max_concurrent_invocations
        )),
        None => InvokeError::Trap(stderr.panic_message().unwrap_or_else(|| format!("{error:#}"))),
    }
}

/// Caps linear memory and remembers when the cap was hit, since a refused
/// `memory.grow` surfaces as whatever trap the guest's allocator raises.
struct MemoryCap {
    limit: u64,
    hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl types::Host for InvocationState {}

impl signed_http::Host for InvocationState {
    async fn send(
        &mut self,
        request: signed_http::Request,
    ) -> wasmtime::Result<Result<signed_http::Response, signed_http::SendError>> {
        let request = HttpRequest {
            service: request.service,
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
            sign: request.sign,
        };
        Ok(match self.capability.send(request).await {
            Ok(response) => {
                Ok(signed_http::Response { status: response.status, headers: response.headers, body: response.body })
            }
            Err(SendError::Denied(m)) => Err(signed_http::SendError::Denied(m)),
            Err(SendError::InvalidRequest(m)) => Err(signed_http::SendError::InvalidRequest(m)),
            Err(SendError::LimitExceeded(m)) => Err(signed_http::SendError::LimitExceeded(m)),
            Err(SendError::Transport(m)) => Err(signed_http::SendError::Transport(m)),
        })
    }
}
