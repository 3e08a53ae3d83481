//! What one invocation's Store holds, and how the guest's imports reach the
//! host: an empty WASI context, the memory cap, and the signed-HTTP
//! capability adapted from its WIT types.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capability::{ApiRequest, CapabilitySession, HttpRequest, OperationRepeat, SendError};
use crate::sandbox::bindings::connector::api::{http_api, invocation, signed_http, types};

/// What an invocation tells its guest about itself (run, step, attempt).
pub(crate) use invocation::Context as InvocationContext;

/// What the host knows of an invocation before it runs: what the guest may
/// ask about it, and whether its operation is safe to repeat.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub(crate) context: InvocationContext,
    /// Whether an earlier attempt of the step may already have taken effect.
    pub(crate) earlier_effect: bool,
    pub(crate) repeat: OperationRepeat,
}

impl Invocation {
    /// An invocation outside any run (describing a connector, checking it
    /// starts): no request it makes is tried again after an unknown
    /// outcome.
    pub(crate) fn outside_run() -> Self {
        Invocation {
            context: InvocationContext { run_id: None, step_id: None, attempt: 1 },
            earlier_effect: false,
            repeat: OperationRepeat::Unsafe,
        }
    }
}

/// Everything one invocation's Store holds.
pub struct InvocationState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) memory: MemoryCap,
    pub(super) capability: CapabilitySession,
    pub(super) invocation: InvocationContext,
    pub(super) earlier_effect: bool,
}

/// Caps linear memory and remembers when the cap was hit, since a refused
/// `memory.grow` surfaces as whatever trap the guest's allocator raises.
pub(super) struct MemoryCap {
    pub(super) limit: u64,
    pub(super) hit: bool,
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

impl invocation::Host for InvocationState {
    async fn current(&mut self) -> wasmtime::Result<InvocationContext> {
        Ok(self.invocation.clone())
    }

    async fn earlier_effect(&mut self) -> wasmtime::Result<bool> {
        Ok(self.earlier_effect)
    }
}

impl signed_http::Host for InvocationState {
    async fn send(
        &mut self,
        request: signed_http::Request,
    ) -> wasmtime::Result<Result<signed_http::Response, signed_http::SendError>> {
        Ok(self.send_signed(request, None).await)
    }

    async fn send_with_host_prefix(
        &mut self,
        host_prefix: String,
        request: signed_http::Request,
    ) -> wasmtime::Result<Result<signed_http::Response, signed_http::SendError>> {
        Ok(self.send_signed(request, Some(host_prefix)).await)
    }
}

impl InvocationState {
    /// Sends a connector's AWS request, to `host_prefix` before the
    /// endpoint's host when it names one.
    async fn send_signed(
        &mut self,
        request: signed_http::Request,
        host_prefix: Option<String>,
    ) -> Result<signed_http::Response, signed_http::SendError> {
        let request = HttpRequest {
            service: request.service,
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
            sign: request.sign,
            host_prefix,
        };
        match self.capability.send(request).await {
            Ok(response) => {
                Ok(signed_http::Response { status: response.status, headers: response.headers, body: response.body })
            }
            Err(SendError::Denied(m)) => Err(signed_http::SendError::Denied(m)),
            Err(SendError::InvalidRequest(m)) => Err(signed_http::SendError::InvalidRequest(m)),
            Err(SendError::LimitExceeded(m)) => Err(signed_http::SendError::LimitExceeded(m)),
            // Only API connections have credentials that can fail so.
            Err(SendError::Transport(m) | SendError::Credential(m)) => Err(signed_http::SendError::Transport(m)),
        }
    }
}

impl http_api::Host for InvocationState {
    async fn send(
        &mut self,
        request: http_api::Request,
    ) -> wasmtime::Result<Result<signed_http::Response, http_api::SendError>> {
        let request = ApiRequest {
            api: request.api,
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
        };
        Ok(match self.capability.send_api(request).await {
            Ok(response) => {
                Ok(signed_http::Response { status: response.status, headers: response.headers, body: response.body })
            }
            Err(SendError::Denied(m)) => Err(http_api::SendError::Denied(m)),
            Err(SendError::InvalidRequest(m)) => Err(http_api::SendError::InvalidRequest(m)),
            Err(SendError::LimitExceeded(m)) => Err(http_api::SendError::LimitExceeded(m)),
            Err(SendError::Transport(m)) => Err(http_api::SendError::Transport(m)),
            Err(SendError::Credential(m)) => Err(http_api::SendError::Credential(m)),
        })
    }

    async fn relative_path(&mut self, api: String, url: String) -> wasmtime::Result<Option<String>> {
        Ok(self.capability.relative_path(&api, &url))
    }
}
