//! The capabilities, a connector's only ways out of its sandbox: signed
//! HTTP to AWS services and HTTP to the APIs it declares, with the grant
//! and request policy, endpoint resolution, the egress filter, SigV4
//! signing and the credentials of API connections, retries and the HTTP
//! clients. It knows nothing of
//! WebAssembly; the sandbox adapts it to the WIT interface.

mod api_http;
mod egress;
mod grant;
mod policy;
mod retry;
mod signed_http;
pub mod sigv4;

pub(crate) use api_http::ApiRequest;
pub(crate) use egress::private_or_local;
pub use grant::{ANY_API, Grant, GrantRule, Grants};
pub use retry::{CarriedOut, RetryPolicy};
pub(crate) use signed_http::{CapabilitySession, HttpRequest, SignedHttp};
pub use signed_http::{HttpLimits, OperationRepeat, SendError};
