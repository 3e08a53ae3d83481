//! The sandbox connectors run in: the wasmtime engine and its instance pool,
//! a fresh Store per invocation with its limits, the guest's stdout and
//! stderr, and the compiled-component cache. It knows nothing of AWS; the
//! only door out it gives a guest is the signed-HTTP capability it is
//! handed.

mod artifact_cache;
pub(crate) mod bindings;
pub(crate) mod engine;
mod guest_output;
mod invoke;
mod state;
mod transfer_probe;

pub use artifact_cache::ArtifactCache;
pub use engine::SandboxLimits;
pub(crate) use invoke::{Guest, Sandbox};
pub(crate) use state::{Invocation, InvocationContext};
