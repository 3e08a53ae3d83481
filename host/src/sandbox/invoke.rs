//! Running a guest: a fresh Store per invocation from the component's
//! `InstancePre`, with its memory cap, epoch deadline and wall-clock
//! timeout, an empty WASI context, and the signed-HTTP capability as the
//! only import that reaches outside. Every way a call can end is mapped to
//! an [`InvokeError`] kind.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, PoolConcurrencyLimitError, Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use crate::capability::{CapabilitySession, CarriedOut, Grant, SendError, SignedHttp};
use crate::error::InvokeError;
use crate::identity::Identity;
use crate::sandbox::artifact_cache::ArtifactCache;
use crate::sandbox::bindings::connector::api::types;
use crate::sandbox::bindings::exports::connector::api::details;
use crate::sandbox::bindings::{ConnectorExports, ConnectorPre, DescribedPlugin};
use crate::sandbox::engine::{self, SandboxLimits};
use crate::sandbox::guest_output::GuestOutput;
use crate::sandbox::state::{Invocation, InvocationState, MemoryCap};
use crate::sandbox::transfer_probe::TransferLimitProbe;

/// The engine, the linker with the host's imports, and the limits every
/// invocation runs under.
pub(crate) struct Sandbox {
    engine: Engine,
    linker: Linker<InvocationState>,
    http: Arc<SignedHttp>,
    limits: SandboxLimits,
    cache: Option<ArtifactCache>,
    transfer_limit: usize,
    transfer_probe: TransferLimitProbe,
}

/// Live component-model handles (resources) one invocation may hold, and
/// entries of its WASI resource table: a connector needs a handful (its
/// output streams); wasmtime's defaults (100,000 and more) would let one
/// invocation make the host keep megabytes of tables.
const MAX_HANDLES: usize = 4096;

/// A component pre-linked in a [`Sandbox`], with the name its output is
/// logged under and the services it may call.
#[derive(Clone)]
pub(crate) struct Guest {
    pub(crate) pre: ConnectorPre<InvocationState>,
    pub(crate) name: Arc<str>,
    pub(crate) grant: Arc<Grant>,
}

impl Sandbox {
    /// Builds the engine for `limits` and links WASI and `http` as the
    /// guests' imports. `transfer_limit` is the most a guest may hand the
    /// host in one call (a request, its output, its manifest): wasmtime
    /// copies no more out of a sandbox, however the guest's lists and
    /// strings alias each other in its memory.
    pub(crate) fn new(
        limits: SandboxLimits,
        http: Arc<SignedHttp>,
        cache: Option<ArtifactCache>,
        transfer_limit: usize,
    ) -> anyhow::Result<Self> {
        let engine = engine::new_engine(&limits)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        DescribedPlugin::add_to_linker::<InvocationState, HasSelf<InvocationState>>(&mut linker, |state| state)?;
        // Learned now, while no invocation holds a pool slot the probe needs.
        let transfer_probe = TransferLimitProbe::default();
        transfer_probe.learn(&engine);
        Ok(Sandbox { engine, linker, http, limits, cache, transfer_limit, transfer_probe })
    }

    pub(crate) fn timeout(&self) -> std::time::Duration {
        self.limits.timeout
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn http(&self) -> &SignedHttp {
        &self.http
    }

    /// Compiles `bytes`, whose SHA-256 is `digest`, through the cache when
    /// there is one, on a blocking thread.
    pub(crate) async fn compile(&self, digest: [u8; 32], bytes: Vec<u8>) -> anyhow::Result<Component> {
        match &self.cache {
            Some(cache) => cache.load_or_compile(&self.engine, digest, bytes).await,
            None => {
                let engine = self.engine.clone();
                tokio::task::spawn_blocking(move || {
                    Component::from_binary(&engine, &bytes).map_err(anyhow::Error::from)
                })
                .await
                .context("the compiler task failed")?
            }
        }
    }

    /// Pre-links a checked component.
    pub(crate) fn prelink(&self, component: &Component) -> anyhow::Result<ConnectorPre<InvocationState>> {
        let instance_pre = self
            .linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("could not link the component")?;
        ConnectorPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context("the component does not match the connector world")
    }

    /// Asks `guest` for its manifest and, when it exports them, its
    /// operations' details (signing as `identity`, though a guest being
    /// described is granted no service).
    pub(crate) async fn describe(
        &self,
        guest: &Guest,
        identity: Arc<Identity>,
    ) -> Result<(types::Manifest, Vec<details::OperationDetails>, Vec<details::Api>), InvokeError> {
        self.with_instance(guest, identity, Invocation::outside_run(), async |exports, store| {
            let manifest = exports.connector.call_describe(&mut *store).await?;
            let (details, apis) = match &exports.details {
                Some(details) => (details.call_operations(&mut *store).await?, details.call_apis(&mut *store).await?),
                None => (Vec::new(), Vec::new()),
            };
            Ok((manifest, details, apis))
        })
        .await
        .0
    }

    /// Runs `operation` of `guest` with `input` (JSON text) and returns the
    /// output as the guest gave it, within the output cap; the caller
    /// checks that it is JSON. `input` is owned because the WIT `json`
    /// alias binds as `&String`. The guest can ask for what `invocation`
    /// tells it. Also says whether a request of the invocation may have
    /// been carried out, whether it failed or not.
    pub(crate) async fn invoke(
        &self,
        guest: &Guest,
        identity: Arc<Identity>,
        invocation: Invocation,
        operation: &str,
        input: String,
    ) -> (Result<String, InvokeError>, CarriedOut) {
        let (result, effect) = self
            .with_instance(guest, identity, invocation, async |exports, store| {
                let result = exports.connector.call_invoke(&mut *store, operation, &input).await?;
                Ok(result.map_err(|error| from_guest_error(error, store.data().capability.last_failure())))
            })
            .await;
        let output = result.and_then(|output| {
            let output = output?;
            if output.len() > self.limits.max_output_bytes {
                return Err(InvokeError::OutputTooLarge { size: output.len(), limit: self.limits.max_output_bytes });
            }
            Ok(output)
        });
        (output, effect)
    }

    /// Instantiates `guest` and drops it, calling nothing.
    pub(crate) async fn instantiate(&self, guest: &Guest, identity: Arc<Identity>) -> Result<(), InvokeError> {
        self.with_instance(guest, identity, Invocation::outside_run(), async |_, _| Ok(())).await.0
    }

    /// A fresh Store for one invocation of `guest`, signing as `identity`.
    fn new_store(
        &self,
        guest: &Guest,
        identity: Arc<Identity>,
        invocation: Invocation,
    ) -> (Store<InvocationState>, GuestOutput) {
        let limits = &self.limits;
        let stderr = GuestOutput::new(guest.name.clone(), "stderr", limits.max_log_bytes);
        // No arguments, environment, preopened directories or network: the
        // builder's defaults grant none of them.
        let wasi = WasiCtxBuilder::new()
            .stdout(GuestOutput::new(guest.name.clone(), "stdout", limits.max_log_bytes))
            .stderr(stderr.clone())
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HANDLES);
        let state = InvocationState {
            wasi,
            table,
            memory: MemoryCap { limit: limits.memory_bytes, hit: false },
            capability: CapabilitySession::new(
                self.http.clone(),
                guest.name.clone(),
                guest.grant.clone(),
                identity,
                invocation.repeat,
            ),
            invocation: invocation.context,
            earlier_effect: invocation.earlier_effect,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        // Each call from the guest (a request it sends, the output or
        // manifest it returns) carries at most this much to the host,
        // however its lists and strings alias each other in its memory.
        store.set_hostcall_fuel(self.transfer_limit);
        store.set_max_component_handles(MAX_HANDLES);
        // At every epoch tick a running guest yields to the scheduler, so a
        // guest that computes without end holds no worker thread (other
        // calls, and the timeout below, keep running); at the deadline it
        // is interrupted.
        let deadline = Instant::now() + limits.timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
        });
        (store, stderr)
    }

    /// Instantiates `guest` in a fresh Store and runs `call` on it, with the
    /// deadline and limits applied and failures mapped to [`InvokeError`];
    /// and whether a request it made may have been carried out.
    async fn with_instance<T>(
        &self,
        guest: &Guest,
        identity: Arc<Identity>,
        invocation: Invocation,
        call: impl AsyncFnOnce(&ConnectorExports, &mut Store<InvocationState>) -> wasmtime::Result<T>,
    ) -> (Result<T, InvokeError>, CarriedOut) {
        let (mut store, stderr) = self.new_store(guest, identity, invocation);
        let run = async {
            let exports = guest.pre.instantiate_async(&mut store).await?;
            call(&exports, &mut store).await
        };
        // Epochs do not fire while the guest waits in a host call (an HTTP
        // request), so the wall-clock timeout backs the epoch deadline.
        let result = match tokio::time::timeout(self.limits.timeout, run).await {
            Err(_elapsed) => Err(InvokeError::Timeout(self.limits.timeout)),
            Ok(result) => result.map_err(|error| self.classify_trap(error, &store.data().memory, &stderr)),
        };
        (result, store.data().capability.carried_out())
    }

    fn classify_trap(&self, error: wasmtime::Error, memory: &MemoryCap, stderr: &GuestOutput) -> InvokeError {
        if memory.hit {
            return InvokeError::MemoryLimit(self.limits.memory_bytes);
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => InvokeError::Timeout(self.limits.timeout),
            Some(Trap::StackOverflow) => InvokeError::Trap("stack overflow".into()),
            Some(trap) => InvokeError::Trap(stderr.panic_message().unwrap_or_else(|| trap.to_string())),
            None if error.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
                InvokeError::Busy { slots: self.limits.max_concurrent_invocations }
            }
            None if self.transfer_probe.recognises(&self.engine, &error) => {
                InvokeError::TransferLimit { limit: self.transfer_limit }
            }
            None => InvokeError::Trap(stderr.panic_message().unwrap_or_else(|| format!("{error:#}"))),
        }
    }
}

/// The guest's error as an [`InvokeError`]. A `host` error is believed only
/// when the host itself refused or failed one of the invocation's requests,
/// and then the host's own account replaces the guest's text.
fn from_guest_error(error: types::Error, host_failure: Option<&SendError>) -> InvokeError {
    match error {
        types::Error::InvalidInput(m) => InvokeError::InvalidInput(m),
        types::Error::UnknownOperation(m) => InvokeError::UnknownOperation(m),
        types::Error::Service(e) => {
            InvokeError::Service { code: e.code, message: e.message, status: e.status, retryable: e.retryable }
        }
        types::Error::Host(m) => match host_failure {
            Some(failure) => InvokeError::Capability(failure.clone()),
            None => InvokeError::Connector(format!(
                "it reported a host error, but the host refused or failed none of its requests: {m}"
            )),
        },
        types::Error::Internal(m) => InvokeError::Connector(m),
    }
}
