//! What a loaded connector is: its manifest, checked once at load, and the
//! checks a component passes before it becomes one (a component, not a
//! module; a compatible contract version; a well-formed manifest).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::capability::Grant;
use crate::sandbox::bindings::contract;
use crate::sandbox::{Guest, bindings};

/// What a connector is and offers, as its component described itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Manifest {
    pub name: String,
    pub title: String,
    pub version: String,
    /// AWS services the connector declares it needs.
    pub services: Vec<String>,
    pub operations: Vec<OperationInfo>,
}

/// One operation of a connector.
#[derive(Debug, Clone, Serialize)]
pub struct OperationInfo {
    pub name: String,
    pub title: String,
    pub description: String,
    /// JSON Schema of the input.
    pub input_schema: serde_json::Value,
}

impl Manifest {
    /// The operation called `name`.
    pub fn operation(&self, name: &str) -> Option<&OperationInfo> {
        self.operations.iter().find(|op| op.name == name)
    }
}

/// A loaded connector, ready to invoke. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    pub(crate) inner: Arc<ConnectorInner>,
}

pub(crate) struct ConnectorInner {
    pub(crate) path: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) guest: Guest,
}

impl Connector {
    /// The connector's manifest, read once at load.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// The connector's name from its manifest.
    pub fn name(&self) -> &str {
        &self.inner.guest.name
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The services it may call.
    pub fn grant(&self) -> &Grant {
        &self.inner.guest.grant
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("name", &self.name()).field("path", &self.inner.path).finish()
    }
}

/// Tells a component from a core module or from bytes that are not
/// WebAssembly at all, before the compiler's less readable errors.
pub(crate) fn check_is_component(bytes: &[u8]) -> anyhow::Result<()> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        bail!("the file is not WebAssembly (no `\\0asm` header)");
    }
    match bytes[4..8] {
        [0x0d, 0x00, 0x01, 0x00] => Ok(()),
        [0x01, 0x00, 0x00, 0x00] => bail!(
            "the file is a core WebAssembly module, not a component; build the connector for the \
             wasm32-wasip2 target (or wrap it with `wasm-tools component new`)"
        ),
        _ => bail!("the file has an unsupported WebAssembly version or layer"),
    }
}

/// Checks that the component exports a compatible `connector` interface and
/// imports nothing but `signed-http` and WASI.
pub(crate) fn check_contract(engine: &Engine, component: &Component) -> anyhow::Result<()> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_owned()).collect();
    let export = exports.iter().find(|name| unversioned(name) == contract::EXPORT);
    match export {
        None => bail!(
            "it does not export `{}@{}` (its exports: {})",
            contract::EXPORT,
            contract::VERSION,
            if exports.is_empty() { "none".to_owned() } else { exports.join(", ") }
        ),
        Some(name) => check_version(name)?,
    }
    for (name, item) in ty.imports(engine) {
        if contract::IMPORTS.contains(&unversioned(name)) {
            check_version(name)?;
        } else if !name.starts_with("wasi:") {
            bail!(
                "it imports `{name}`, which this host does not provide (only {} and WASI)",
                contract::IMPORTS.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
            );
        } else if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            bail!("it imports `{name}` as something other than an interface");
        }
    }
    Ok(())
}

fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// Accepts the versions semver-compatible with ours: 0.1.x for 0.1.0.
fn check_version(name: &str) -> anyhow::Result<()> {
    let Some((_, version)) = name.split_once('@') else {
        bail!("`{name}` has no version; this host implements {}@{}", contract::PACKAGE, contract::VERSION);
    };
    let ours: Vec<&str> = contract::VERSION.split('.').collect();
    let theirs: Vec<&str> = version.split(['.', '-', '+']).collect();
    let compatible = if ours[0] == "0" { theirs.len() >= 2 && theirs[..2] == ours[..2] } else { theirs[0] == ours[0] };
    if !compatible {
        bail!(
            "it was built for contract version {version} (`{name}`); this host implements {}@{} and accepts {}",
            contract::PACKAGE,
            contract::VERSION,
            if ours[0] == "0" { format!("{}.{}.x", ours[0], ours[1]) } else { format!("{}.x", ours[0]) }
        );
    }
    Ok(())
}

/// Checks what a connector says of itself: a name, unique operation names,
/// schemas that are JSON objects.
pub(crate) fn check_manifest(raw: bindings::connector::api::types::Manifest) -> anyhow::Result<Manifest> {
    if raw.name.trim().is_empty() {
        bail!("its manifest has an empty name");
    }
    let mut seen = BTreeSet::new();
    let mut operations = Vec::with_capacity(raw.operations.len());
    for op in raw.operations {
        if op.name.is_empty() || !seen.insert(op.name.clone()) {
            bail!("its manifest lists operation `{}` twice or with an empty name", op.name);
        }
        let input_schema: serde_json::Value = serde_json::from_str(&op.input_schema)
            .with_context(|| format!("the input schema of operation `{}` is not JSON", op.name))?;
        if !input_schema.is_object() {
            bail!("the input schema of operation `{}` is not a JSON object", op.name);
        }
        operations.push(OperationInfo { name: op.name, title: op.title, description: op.description, input_schema });
    }
    Ok(Manifest { name: raw.name, title: raw.title, version: raw.version, services: raw.services, operations })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_modules_and_garbage_from_components() {
        assert!(check_is_component(b"\0asm\x0d\0\x01\0rest").is_ok());
        assert!(check_is_component(b"\0asm\x01\0\0\0").unwrap_err().to_string().contains("core WebAssembly module"));
        assert!(check_is_component(b"hello world!").unwrap_err().to_string().contains("not WebAssembly"));
        assert!(check_is_component(b"").is_err());
    }

    #[test]
    fn accepts_semver_compatible_contracts() {
        assert!(check_version("connector:api/connector@0.1.0").is_ok());
        assert!(check_version("connector:api/connector@0.1.7").is_ok());
        let err = check_version("connector:api/connector@0.2.0").unwrap_err().to_string();
        assert!(err.contains("built for contract version 0.2.0") && err.contains("accepts 0.1.x"), "{err}");
        assert!(check_version("connector:api/connector").is_err());
    }
}
