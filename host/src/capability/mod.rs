//! The signed-HTTP capability, a connector's only way out of its sandbox:
//! the grant and request policy, endpoint resolution, the egress filter,
//! SigV4 signing, retries and the HTTP client. It knows nothing of
//! WebAssembly; the sandbox adapts it to the WIT interface.

mod egress;
mod grant;
mod policy;
mod retry;
mod signed_http;
pub mod sigv4;

pub use grant::{Grant, GrantRule, Grants};
pub use retry::{CarriedOut, RetryPolicy};
pub(crate) use signed_http::{CapabilitySession, HttpRequest, SignedHttp};
pub use signed_http::{HttpLimits, OperationRepeat, SendError};
