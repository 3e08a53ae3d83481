//! The signed-HTTP capability, a connector's only way out of its sandbox:
//! the grant and request policy, endpoint resolution, the egress filter,
//! SigV4 signing, retries and the HTTP client. It knows nothing of
//! WebAssembly; the sandbox adapts it to the WIT interface.

mod egress;
mod endpoint;
mod grant;
mod policy;
mod retry;
mod services;
mod signed_http;
pub mod sigv4;

pub(crate) use egress::is_loopback_authority;
pub use endpoint::{Endpoint, Endpoints};
pub use grant::{ConnectorIdentity, ConnectorSelector, Grant, GrantRule, Grants, is_alias};
pub(crate) use policy::check_service;
pub use retry::RetryPolicy;
pub(crate) use signed_http::{CapabilitySession, HttpRequest, SignedHttp};
pub use signed_http::{HttpLimits, SendError};
