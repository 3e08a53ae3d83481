//! What a loaded connector is: its manifest, checked once at load, and the
//! checks a component passes before it becomes one (a component, not a
//! module; a compatible contract version; a well-formed manifest).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::capability::{ConnectorIdentity, Grant, check_service};
use crate::escape::quote_untrusted;
use crate::runtime::schema::{SchemaBudget, resolve_references};
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
    /// JSON Schema of the input, with its local `$ref`s resolved when the
    /// connector loaded: only recursive references are left.
    pub input_schema: serde_json::Value,
}

/// What an operation does to the world, guessed from its name for clients
/// that show or gate tools by it (MCP's `readOnlyHint` and
/// `destructiveHint`). Hints only: a connector's names are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationHints {
    /// Only reads: its verb is `describe`, `get` or `list`.
    pub read_only: bool,
    /// Deletes or removes something: its verb is `delete`, `remove`,
    /// `revoke`, `forget`, `untag` or `purge`.
    pub destructive: bool,
}

impl OperationInfo {
    /// The hints for this operation, from its verb: the first word of its
    /// snake_case name, after an `admin_` prefix.
    ///
    /// ```
    /// use connector_host::OperationHints;
    /// # let op = |name: &str| connector_host::OperationInfo { name: name.into(), title: String::new(),
    /// #     description: String::new(), input_schema: serde_json::json!({}) };
    /// assert_eq!(op("admin_get_user").hints(), OperationHints { read_only: true, destructive: false });
    /// assert_eq!(op("delete_user_pool").hints(), OperationHints { read_only: false, destructive: true });
    /// assert_eq!(op("create_user_pool").hints(), OperationHints { read_only: false, destructive: false });
    /// ```
    pub fn hints(&self) -> OperationHints {
        let name = self.name.strip_prefix("admin_").unwrap_or(&self.name);
        let verb = name.split(['_', '-']).next().unwrap_or(name).to_ascii_lowercase();
        OperationHints {
            read_only: matches!(verb.as_str(), "describe" | "get" | "list"),
            destructive: matches!(verb.as_str(), "delete" | "remove" | "revoke" | "forget" | "untag" | "purge"),
        }
    }
}

impl Manifest {
    /// The operation called `name`.
    pub fn operation(&self, name: &str) -> Option<&OperationInfo> {
        self.operations.iter().find(|op| op.name == name)
    }
}

/// A loaded connector, ready to invoke. Cheap to clone; an invocation holds
/// a clone, so a connector replaced or unloaded meanwhile finishes its calls.
#[derive(Clone)]
pub struct Connector {
    pub(crate) inner: Arc<ConnectorInner>,
}

pub(crate) struct ConnectorInner {
    pub(crate) identity: ConnectorIdentity,
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

    /// The file it was loaded from (canonicalized), if it came from one.
    pub fn path(&self) -> Option<&Path> {
        self.inner.identity.path.as_deref()
    }

    /// `sha256:<hex>` of the component's bytes.
    pub fn digest(&self) -> &str {
        &self.inner.identity.digest
    }

    /// The OCI reference it was pulled by, pinned to its manifest's digest,
    /// if it came from a registry.
    pub fn reference(&self) -> Option<&str> {
        self.inner.identity.reference.as_deref()
    }

    /// Where it was loaded from: its pinned OCI reference, its file, or
    /// `None` for a component added from bytes.
    pub fn source(&self) -> Option<String> {
        self.reference().map(str::to_owned).or_else(|| self.path().map(|p| p.display().to_string()))
    }

    /// The alias it was loaded under, if any.
    pub fn alias(&self) -> Option<&str> {
        self.inner.identity.alias.as_deref()
    }

    /// The services it may call.
    pub fn grant(&self) -> &Grant {
        &self.inner.guest.grant
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("name", &self.name()).field("identity", &self.inner.identity).finish()
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

/// Bounds on what a manifest may say, so that listing, logging and
/// printing a connector stay proportionate whatever it claims.
pub(crate) mod manifest_limits {
    /// Connector and operation names: machine names this long at most.
    pub const NAME_CHARS: usize = 64;
    /// Titles and versions.
    pub const TITLE_CHARS: usize = 256;
    /// Operation descriptions.
    pub const DESCRIPTION_CHARS: usize = 8192;
    pub const SERVICES: usize = 64;
    pub const OPERATIONS: usize = 10_000;
    /// All of a manifest's text, schemas included.
    pub const TOTAL_BYTES: usize = 8 * 1024 * 1024;
}

/// True for a machine name: starts with a letter, then letters, digits,
/// `_` or `-`, at most [`manifest_limits::NAME_CHARS`] long.
fn is_machine_name(name: &str) -> bool {
    name.len() <= manifest_limits::NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn length_problem(what: &str, text: &str, max: usize) -> Option<String> {
    let chars = text.chars().count();
    (chars > max).then(|| format!("{what} is {chars} characters long, over the limit of {max}"))
}

/// Every rule a manifest breaks, in order; empty for a good one. Names
/// must be machine names (unique operations), services well-formed,
/// schemas JSON objects whose references resolve within
/// [`schema_limits`](crate::runtime::schema::schema_limits), and every
/// part within [`manifest_limits`].
pub(crate) fn manifest_problems(raw: &bindings::connector::api::types::Manifest) -> Vec<String> {
    examine(raw).0
}

/// The problems of `raw` (see [`manifest_problems`]) and each operation's
/// input schema with its references resolved (`Null` where it has a
/// problem).
fn examine(raw: &bindings::connector::api::types::Manifest) -> (Vec<String>, Vec<serde_json::Value>) {
    use manifest_limits as limits;
    let mut problems = Vec::new();
    let total: usize = [&raw.name, &raw.title, &raw.version].iter().map(|s| s.len()).sum::<usize>()
        + raw.services.iter().map(String::len).sum::<usize>()
        + raw
            .operations
            .iter()
            .map(|op| op.name.len() + op.title.len() + op.description.len() + op.input_schema.len())
            .sum::<usize>();
    if total > limits::TOTAL_BYTES {
        // Too large to go through piece by piece.
        return (vec![format!("its manifest is {total} bytes, over the limit of {}", limits::TOTAL_BYTES)], Vec::new());
    }
    if !is_machine_name(&raw.name) {
        problems.push(format!(
            "its name {} is not a machine name (a letter, then letters, digits, `_` or `-`; at most {} characters)",
            quote_untrusted(&raw.name),
            limits::NAME_CHARS
        ));
    }
    problems.extend(length_problem("its title", &raw.title, limits::TITLE_CHARS));
    problems.extend(length_problem("its version", &raw.version, limits::TITLE_CHARS));
    if raw.services.len() > limits::SERVICES {
        problems.push(format!("it declares {} services, over the limit of {}", raw.services.len(), limits::SERVICES));
    }
    for service in &raw.services {
        if let Err(e) = check_service(service) {
            problems.push(format!("it declares a service that is not one: {e}"));
        }
    }
    if raw.operations.len() > limits::OPERATIONS {
        problems.push(format!(
            "it lists {} operations, over the limit of {}",
            raw.operations.len(),
            limits::OPERATIONS
        ));
        return (problems, Vec::new());
    }
    let mut seen = BTreeSet::new();
    let mut budget = SchemaBudget::default();
    let mut schemas = Vec::with_capacity(raw.operations.len());
    for op in &raw.operations {
        if !is_machine_name(&op.name) {
            problems.push(format!(
                "operation name {} is not a machine name (a letter, then letters, digits, `_` or `-`; at most {} \
                 characters)",
                quote_untrusted(&op.name),
                limits::NAME_CHARS
            ));
            schemas.push(serde_json::Value::Null);
            continue;
        }
        if !seen.insert(op.name.as_str()) {
            problems.push(format!("its manifest lists operation `{}` twice", op.name));
        }
        problems.extend(length_problem(
            &format!("the title of operation `{}`", op.name),
            &op.title,
            limits::TITLE_CHARS,
        ));
        problems.extend(length_problem(
            &format!("the description of operation `{}`", op.name),
            &op.description,
            limits::DESCRIPTION_CHARS,
        ));
        let schema = match serde_json::from_str::<serde_json::Value>(&op.input_schema) {
            Ok(schema) if schema.is_object() => resolve_references(&schema, &mut budget)
                .map_err(|e| format!("the input schema of operation `{}` {e}", op.name)),
            Ok(_) => Err(format!("the input schema of operation `{}` is not a JSON object", op.name)),
            Err(e) => Err(format!("the input schema of operation `{}` is not JSON: {e}", op.name)),
        };
        match schema {
            Ok(schema) => schemas.push(schema),
            Err(problem) => {
                problems.push(problem);
                schemas.push(serde_json::Value::Null);
            }
        }
    }
    (problems, schemas)
}

/// Checks what a connector says of itself (see [`manifest_problems`]);
/// the first problem is the error. The manifest keeps each input schema
/// with its references resolved.
pub(crate) fn check_manifest(raw: bindings::connector::api::types::Manifest) -> anyhow::Result<Manifest> {
    let (problems, schemas) = examine(&raw);
    if let Some(problem) = problems.into_iter().next() {
        bail!("{problem}");
    }
    let mut services: Vec<String> = Vec::with_capacity(raw.services.len());
    for service in raw.services {
        if !services.contains(&service) {
            services.push(service);
        }
    }
    let operations = raw
        .operations
        .into_iter()
        .zip(schemas)
        .map(|(op, input_schema)| OperationInfo {
            input_schema,
            name: op.name,
            title: op.title,
            description: op.description,
        })
        .collect();
    Ok(Manifest { name: raw.name, title: raw.title, version: raw.version, services, operations })
}

/// The name of the contract interface `component` exports
/// (`connector:api/connector@0.1.1`).
pub(crate) fn contract_export(engine: &Engine, component: &Component) -> Option<String> {
    let ty = component.component_type();
    let found = ty.exports(engine).map(|(name, _)| name).find(|name| unversioned(name) == contract::EXPORT);
    found.map(str::to_owned)
}

/// What is wrong with operation `operation`'s input schema as a JSON
/// Schema 2020-12 object schema: problems the draft's meta-schema finds,
/// and a root that does not say `"type": "object"`.
pub(crate) fn schema_problems(operation: &str, schema: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(error) = jsonschema::draft202012::meta::validate(schema) {
        problems.push(format!(
            "the input schema of operation `{operation}` is not valid JSON Schema 2020-12: {} (at {})",
            error,
            error.instance_path()
        ));
    }
    if schema.get("type").and_then(serde_json::Value::as_str) != Some("object") {
        problems.push(format!(
            "the input schema of operation `{operation}` does not say `\"type\": \"object\"` at its root"
        ));
    }
    problems
}

/// The linear memory a component needs before it runs: the largest initial
/// size of the memories its core modules define or import, in bytes.
pub(crate) fn initial_memory_bytes(bytes: &[u8]) -> anyhow::Result<u64> {
    let mut largest_pages = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let initial = match payload.context("the component does not parse")? {
            wasmparser::Payload::MemorySection(memories) => {
                memories.into_iter().filter_map(Result::ok).map(|m| m.initial).max().unwrap_or(0)
            }
            wasmparser::Payload::ImportSection(imports) => imports
                .into_imports()
                .filter_map(Result::ok)
                .filter_map(|import| match import.ty {
                    wasmparser::TypeRef::Memory(memory) => Some(memory.initial),
                    _ => None,
                })
                .max()
                .unwrap_or(0),
            _ => 0,
        };
        largest_pages = largest_pages.max(initial);
    }
    Ok(largest_pages.saturating_mul(64 * 1024))
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

    fn raw_manifest(name: &str, operations: &[&str]) -> bindings::connector::api::types::Manifest {
        use bindings::connector::api::types;
        types::Manifest {
            name: name.into(),
            title: "T".into(),
            version: "1.0.0".into(),
            services: vec!["cognito-idp".into(), "cognito-idp".into()],
            operations: operations
                .iter()
                .map(|op| types::Operation {
                    name: (*op).into(),
                    title: "t".into(),
                    description: "d".into(),
                    input_schema: "{}".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn manifests_name_machines_and_stay_bounded() {
        let ok = check_manifest(raw_manifest("aws-cognito", &["create_user_pool", "listThings"])).unwrap();
        assert_eq!(ok.services, ["cognito-idp"], "duplicates dropped");
        for (name, ops, expected) in [
            ("evil\nWARN forged", &["op"][..], "its name `evil\\u{a}WARN forged` is not a machine name"),
            ("", &["op"][..], "its name `` is not a machine name"),
            ("ok", &["a b"][..], "operation name `a b` is not a machine name"),
            ("ok", &["op", "op"][..], "lists operation `op` twice"),
        ] {
            let err = check_manifest(raw_manifest(name, ops)).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let long = "x".repeat(100_000);
        let err = check_manifest(raw_manifest("ok", &[&long])).unwrap_err().to_string();
        assert!(err.contains("is not a machine name") && err.len() < 300, "cut short: {err}");
        let mut many = raw_manifest("ok", &[]);
        many.operations = raw_manifest("ok", &["op"]).operations.into_iter().cycle().take(10_001).collect();
        let err = check_manifest(many).unwrap_err().to_string();
        assert!(err.contains("10001 operations, over the limit of 10000"), "{err}");
        let mut bad_service = raw_manifest("ok", &[]);
        bad_service.services = vec!["evil.com/x".into()];
        assert!(check_manifest(bad_service).unwrap_err().to_string().contains("not a valid service name"));
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
