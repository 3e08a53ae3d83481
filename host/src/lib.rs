//! A host for WebAssembly connectors.
//!
//! A connector is a component (`wasm32-wasip2`) implementing the
//! `connector:api` WIT contract: it lists its operations with JSON Schemas
//! and runs one when asked. Connectors run sandboxed, with no files,
//! environment or sockets; their only ways out are the host's capabilities,
//! which send requests to the AWS services they were granted, signed with
//! SigV4, and to the HTTP APIs they declare, where the operator configured
//! them, with credentials only the host holds and applies.
//!
//! Start with [`ConnectorHost`].
//!
//! The crate is layered: `sandbox` runs guests (wasmtime), `capability` is
//! the signed-HTTP door (AWS), `identity` holds credentials, `runtime` ties
//! them into loaded connectors, `workflow` runs steps over them, and
//! `server` and `queue` serve them; the `connector-host` binary's command
//! line is a thin shell over this API.

mod capability;
mod digest;
mod disk_cache;
mod endpoints;
mod error;
pub mod escape;
pub mod files;
mod identity;
mod net;
mod oci;
pub mod queue;
mod redact;
mod runtime;
mod sandbox;
mod selector;
pub mod server;
#[cfg(test)]
mod test_support;
pub mod workflow;

pub use capability::{CarriedOut, Grant, GrantRule, Grants, HttpLimits, RetryPolicy, SendError, sigv4};
pub use disk_cache::{Pruned, cache_home};
pub use endpoints::{Endpoint, Endpoints};
pub use error::{InvokeError, LoadError};
pub use identity::{
    Authentication, AuthenticationKind, AuthenticationSummary, Authentications, ClientAuth, ConnectionConfig,
    ConnectionSummary, CredentialsConfig, KeyPlacement, Scheme, SecretRef, SignatureEncoding,
};
pub use oci::{BlobStore, OciReference, Pulled, Registries, RegistryConfig};
pub use runtime::{
    ApiInfo, CallContext, CallerIdentity, ComponentSource, Connector, ConnectorHost, DirectoryWatch, Effect,
    HostConfig, Inspection, InvokeOutcome, LoadOptions, Manifest, OperationHints, OperationInfo, Reloaded, Runtime,
    RuntimeEvent,
};
pub use sandbox::{ArtifactCache, SandboxLimits};
pub use selector::{ConnectorIdentity, ConnectorSelector, is_alias};

/// AWS credentials type accepted by [`CredentialsConfig::Static`].
pub use aws_credential_types::Credentials;

#[cfg(test)]
mod layering {
    //! The modules' imports go one way, from the layers above to the ones
    //! below: a cycle (the capability and identities importing each other,
    //! workflows and the queue) would make neither usable without the other.

    /// Modules from the bottom up; a module may use only those before it.
    const LAYERS: &[&str] = &[
        "escape",
        "redact",
        "files",
        "digest",
        "disk_cache",
        "net",
        "oci",
        "selector",
        "endpoints",
        "identity",
        "capability",
        "error",
        "sandbox",
        "runtime",
        "workflow",
        "queue",
        "server",
    ];

    #[test]
    fn imports_go_down_the_layers_only() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut problems = Vec::new();
        for (level, module) in LAYERS.iter().enumerate() {
            let file = src.join(format!("{module}.rs"));
            let dir = src.join(module);
            let mut files = Vec::new();
            if file.exists() {
                files.push(file);
            }
            let mut pending = vec![dir];
            while let Some(dir) = pending.pop() {
                for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        pending.push(path);
                    } else if path.extension().is_some_and(|e| e == "rs") {
                        files.push(path);
                    }
                }
            }
            assert!(!files.is_empty(), "module `{module}` has no source");
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                for (at, _) in text.match_indices("crate::") {
                    let rest = &text[at + 7..];
                    // `crate::x` or a group, `crate::{x::A, y}`.
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                        None => vec![rest],
                    };
                    for name in names {
                        let used: String =
                            name.trim_start().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                        let Some(used_level) = LAYERS.iter().position(|m| *m == used) else { continue };
                        if used_level > level {
                            problems.push(format!("{} uses crate::{used}", file.display()));
                        }
                    }
                }
            }
        }
        assert!(problems.is_empty(), "imports that go up a layer:\n{}", problems.join("\n"));
    }
}
