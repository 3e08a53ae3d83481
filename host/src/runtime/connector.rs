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

use crate::capability::Grant;
use crate::endpoints::check_service;
use crate::escape::quote_untrusted;
use crate::runtime::schema::{SchemaBudget, resolve_references};
use crate::sandbox::bindings::contract;
use crate::sandbox::{Guest, bindings};
use crate::selector::ConnectorIdentity;

/// What a connector is and offers, as its component described itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Manifest {
    pub name: String,
    pub title: String,
    pub version: String,
    /// AWS services the connector declares it needs.
    pub services: Vec<String>,
    /// HTTP APIs the connector declares it calls (contract 0.1.2).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<ApiInfo>,
    pub operations: Vec<OperationInfo>,
}

/// An HTTP API a connector declares it calls (contract 0.1.2 `details`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiInfo {
    /// The name its requests use; `*` for whichever APIs the operator
    /// grants it by name.
    pub name: String,
    pub title: String,
    /// Where the API usually is: a hint for the operator, never used
    /// unless a connection says so.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub default_base_url: String,
    /// The credential kinds the API accepts (`bearer`, `oauth2`, ...);
    /// empty for any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<&'static str>,
}

/// The contract's name of a credential kind, as connections compare it.
fn credential_kind_name(kind: bindings::exports::connector::api::details::CredentialKind) -> &'static str {
    use bindings::exports::connector::api::details::CredentialKind as Kind;
    match kind {
        Kind::None => "none",
        Kind::Bearer => "bearer",
        Kind::ApiKey => "api-key",
        Kind::Basic => "basic",
        Kind::Oauth2 => "oauth2",
        Kind::Hmac => "hmac",
        Kind::AwsSigv4 => "aws-sigv4",
    }
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
    /// JSON Schema of the output, when the connector declares one (contract
    /// 0.1.2 `details`), resolved as the input's. Its `writeOnly` members
    /// are secrets, hidden where runs are recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<serde_json::Value>,
    /// What the operation may do, when the connector declares it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    /// The connector says that running it again for the same step does
    /// nothing twice (see [`safe_to_repeat`](Self::safe_to_repeat)).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub idempotent: bool,
}

/// What an operation may do, as its connector declares it (contract 0.1.2
/// `details`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Only reads.
    ReadOnly,
    /// Creates or changes things, without deleting or overwriting any.
    Writes,
    /// May delete or overwrite things.
    Destructive,
}

impl From<bindings::exports::connector::api::details::Effect> for Effect {
    fn from(declared: bindings::exports::connector::api::details::Effect) -> Self {
        use bindings::exports::connector::api::details::Effect as Declared;
        match declared {
            Declared::ReadOnly => Effect::ReadOnly,
            Declared::Writes => Effect::Writes,
            Declared::Destructive => Effect::Destructive,
        }
    }
}

/// What an operation does to the world, for clients that show or gate
/// tools by it (MCP's `readOnlyHint` and `destructiveHint`): guessed from
/// its name, and made more cautious (never less) by what its connector
/// declares. Hints only: a connector's names and words are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationHints {
    /// Only reads: its verb is `describe`, `get` or `list`.
    pub read_only: bool,
    /// Deletes or removes something: its verb is `delete`, `remove`,
    /// `revoke`, `forget`, `untag` or `purge`.
    pub destructive: bool,
}

impl OperationInfo {
    /// The hints for this operation. Its verb (the first word of its
    /// snake_case name, after an `admin_` prefix) says read-only for
    /// `describe`, `get` and `list`, destructive for `delete`, `remove`,
    /// `revoke`, `forget`, `untag` and `purge`; a declared effect can
    /// take read-only away or add destructive, never the reverse, so a
    /// connector cannot make an operation look safer than its name.
    ///
    /// ```
    /// use connector_host::{Effect, OperationHints};
    /// # let op = |name: &str, effect| connector_host::OperationInfo { name: name.into(), title: String::new(),
    /// #     description: String::new(), input_schema: serde_json::json!({}), output_schema: None, effect,
    /// #     idempotent: false };
    /// assert_eq!(op("admin_get_user", None).hints(), OperationHints { read_only: true, destructive: false });
    /// assert_eq!(op("delete_user_pool", None).hints(), OperationHints { read_only: false, destructive: true });
    /// assert_eq!(op("create_user_pool", None).hints(), OperationHints { read_only: false, destructive: false });
    /// // An operation that can call any other declares what that reaches.
    /// let universal = op("call_api", Some(Effect::Destructive));
    /// assert_eq!(universal.hints(), OperationHints { read_only: false, destructive: true });
    /// // A declaration never makes a deletion look safe.
    /// let lying = op("delete_user_pool", Some(Effect::ReadOnly));
    /// assert_eq!(lying.hints(), OperationHints { read_only: false, destructive: true });
    /// ```
    /// Whether a step of this operation can run again without doing
    /// anything twice: it only reads (by its hints), or its connector says
    /// it recognises an earlier attempt of the same step.
    pub fn safe_to_repeat(&self) -> bool {
        self.idempotent || self.hints().read_only
    }

    pub fn hints(&self) -> OperationHints {
        let name = self.name.strip_prefix("admin_").unwrap_or(&self.name);
        let verb = name.split(['_', '-']).next().unwrap_or(name).to_ascii_lowercase();
        let named_read_only = matches!(verb.as_str(), "describe" | "get" | "list");
        let named_destructive = matches!(verb.as_str(), "delete" | "remove" | "revoke" | "forget" | "untag" | "purge");
        let destructive = named_destructive || self.effect == Some(Effect::Destructive);
        OperationHints {
            read_only: named_read_only && !destructive && matches!(self.effect, None | Some(Effect::ReadOnly)),
            destructive,
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

/// Checks that the component exports a compatible `connector` interface
/// (and, if it exports `details`, a compatible one) and imports nothing
/// but the contract's interfaces and WASI.
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
    // The optional `details` export, when there, must fit the contract too:
    // one of another version would be silently unused.
    if let Some(details) = exports.iter().find(|name| unversioned(name) == contract::DETAILS) {
        check_version(details)?;
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
    /// Connector names: machine names this long at most.
    pub const NAME_CHARS: usize = 64;
    /// Operation names: machine names this long at most (three of EC2's
    /// API names pass 64 in snake_case).
    pub const OPERATION_NAME_CHARS: usize = 128;
    /// Titles and versions.
    pub const TITLE_CHARS: usize = 256;
    /// Operation descriptions.
    pub const DESCRIPTION_CHARS: usize = 8192;
    pub const SERVICES: usize = 64;
    /// HTTP APIs declared.
    pub const APIS: usize = 64;
    /// An API's default base URL.
    pub const URL_CHARS: usize = 2048;
    pub const OPERATIONS: usize = 10_000;
    /// All of a manifest's text, schemas included.
    pub const TOTAL_BYTES: usize = 8 * 1024 * 1024;
}

/// True for a machine name: starts with a letter, then letters, digits,
/// `_` or `-`, at most `max` long.
fn is_machine_name(name: &str, max: usize) -> bool {
    name.len() <= max
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
pub(crate) fn manifest_problems(raw: &RawDescription) -> Vec<String> {
    examine(raw).0
}

/// What a component says of itself: its manifest, and its operations'
/// details when it exports them.
pub(crate) struct RawDescription {
    pub(crate) manifest: bindings::connector::api::types::Manifest,
    pub(crate) details: Vec<bindings::exports::connector::api::details::OperationDetails>,
    pub(crate) apis: Vec<bindings::exports::connector::api::details::Api>,
}

/// An operation's schemas and effect, resolved and checked.
#[derive(Default)]
struct Checked {
    input_schema: serde_json::Value,
    output_schema: Option<serde_json::Value>,
    effect: Option<Effect>,
    idempotent: bool,
}

/// The problems of `raw` (see [`manifest_problems`]) and what each
/// operation's schemas resolve to (nothing where there is a problem).
fn examine(raw: &RawDescription) -> (Vec<String>, Vec<Checked>) {
    use manifest_limits as limits;
    let (manifest, details) = (&raw.manifest, &raw.details);
    let mut problems = Vec::new();
    let total: usize = [&manifest.name, &manifest.title, &manifest.version].iter().map(|s| s.len()).sum::<usize>()
        + manifest.services.iter().map(String::len).sum::<usize>()
        + manifest
            .operations
            .iter()
            .map(|op| op.name.len() + op.title.len() + op.description.len() + op.input_schema.len())
            .sum::<usize>()
        + details.iter().map(|d| d.name.len() + d.output_schema.as_ref().map_or(0, String::len)).sum::<usize>()
        + raw.apis.iter().map(|a| a.name.len() + a.title.len() + a.default_base_url.len()).sum::<usize>();
    if total > limits::TOTAL_BYTES {
        // Too large to go through piece by piece.
        return (vec![format!("its manifest is {total} bytes, over the limit of {}", limits::TOTAL_BYTES)], Vec::new());
    }
    if !is_machine_name(&manifest.name, limits::NAME_CHARS) {
        problems.push(format!(
            "its name {} is not a machine name (a letter, then letters, digits, `_` or `-`; at most {} characters)",
            quote_untrusted(&manifest.name),
            limits::NAME_CHARS
        ));
    }
    problems.extend(length_problem("its title", &manifest.title, limits::TITLE_CHARS));
    problems.extend(length_problem("its version", &manifest.version, limits::TITLE_CHARS));
    if manifest.services.len() > limits::SERVICES {
        problems.push(format!(
            "it declares {} services, over the limit of {}",
            manifest.services.len(),
            limits::SERVICES
        ));
    }
    for service in &manifest.services {
        if let Err(e) = check_service(service) {
            problems.push(format!("it declares a service that is not one: {e}"));
        }
    }
    problems.extend(api_problems(&raw.apis));
    if manifest.operations.len() > limits::OPERATIONS || details.len() > limits::OPERATIONS {
        problems.push(format!(
            "it lists {} operations, over the limit of {}",
            manifest.operations.len().max(details.len()),
            limits::OPERATIONS
        ));
        return (problems, Vec::new());
    }
    let mut seen = BTreeSet::new();
    let mut budget = SchemaBudget::default();
    let mut checked = Vec::with_capacity(manifest.operations.len());
    for op in &manifest.operations {
        if !is_machine_name(&op.name, limits::OPERATION_NAME_CHARS) {
            problems.push(format!(
                "operation name {} is not a machine name (a letter, then letters, digits, `_` or `-`; at most {} \
                 characters)",
                quote_untrusted(&op.name),
                limits::OPERATION_NAME_CHARS
            ));
            checked.push(Checked::default());
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
        let input_schema =
            resolved_schema(&op.input_schema, &format!("the input schema of operation `{}`", op.name), &mut budget)
                .unwrap_or_else(|problem| {
                    problems.push(problem);
                    serde_json::Value::Null
                });
        checked.push(Checked { input_schema, ..Checked::default() });
    }
    let index: std::collections::HashMap<&str, usize> =
        manifest.operations.iter().enumerate().map(|(at, op)| (op.name.as_str(), at)).collect();
    let mut described = BTreeSet::new();
    for detail in details {
        let Some(&at) = index.get(detail.name.as_str()) else {
            problems.push(format!(
                "its details name operation {}, which its manifest does not list",
                quote_untrusted(&crate::escape::truncate_chars(&detail.name, 80))
            ));
            continue;
        };
        if !described.insert(detail.name.as_str()) {
            problems.push(format!("its details describe operation `{}` twice", detail.name));
            continue;
        }
        if let Some(text) = &detail.output_schema {
            let what = format!("the output schema of operation `{}`", detail.name);
            match resolved_schema(text, &what, &mut budget) {
                Ok(schema) => checked[at].output_schema = Some(schema),
                Err(problem) => problems.push(problem),
            }
        }
        checked[at].effect = detail.effect.map(Effect::from);
        checked[at].idempotent = detail.idempotent;
    }
    (problems, checked)
}

/// What is wrong with the APIs a connector declares: too many, a name
/// that is neither a machine name nor `*`, one declared twice, a title or
/// base URL too long, a base URL that is not an http(s) URL.
fn api_problems(apis: &[bindings::exports::connector::api::details::Api]) -> Vec<String> {
    use manifest_limits as limits;
    if apis.len() > limits::APIS {
        return vec![format!("it declares {} APIs, over the limit of {}", apis.len(), limits::APIS)];
    }
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for api in apis {
        if api.name != crate::capability::ANY_API && !crate::identity::is_api_name(&api.name) {
            problems.push(format!(
                "it declares API {}, which is not a machine name (a letter, then letters, digits, `_` or `-`; at \
                 most 64 characters) nor `*`",
                quote_untrusted(&crate::escape::truncate_chars(&api.name, 80))
            ));
            continue;
        }
        if !seen.insert(api.name.as_str()) {
            problems.push(format!("it declares API `{}` twice", api.name));
        }
        problems.extend(length_problem(&format!("the title of API `{}`", api.name), &api.title, limits::TITLE_CHARS));
        problems.extend(length_problem(
            &format!("the base URL of API `{}`", api.name),
            &api.default_base_url,
            limits::URL_CHARS,
        ));
        let url_ok = api.default_base_url.is_empty()
            || url::Url::parse(&api.default_base_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !url_ok {
            problems.push(format!(
                "the base URL of API `{}`, {}, is not an http(s) URL",
                api.name,
                quote_untrusted(&crate::escape::truncate_chars(&api.default_base_url, 200))
            ));
        }
    }
    problems
}

/// The schema in `text` (`what` names it in problems): a JSON object,
/// with its references resolved within `budget`.
fn resolved_schema(text: &str, what: &str, budget: &mut SchemaBudget) -> Result<serde_json::Value, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(schema) if schema.is_object() => resolve_references(&schema, budget).map_err(|e| format!("{what} {e}")),
        Ok(_) => Err(format!("{what} is not a JSON object")),
        Err(e) => Err(format!("{what} is not JSON: {e}")),
    }
}

/// Checks what a connector says of itself (see [`manifest_problems`]);
/// the first problem is the error. The manifest keeps each input schema
/// with its references resolved.
pub(crate) fn check_manifest(raw: RawDescription) -> anyhow::Result<Manifest> {
    let (problems, checked) = examine(&raw);
    if let Some(problem) = problems.into_iter().next() {
        bail!("{problem}");
    }
    let manifest = raw.manifest;
    let mut services: Vec<String> = Vec::with_capacity(manifest.services.len());
    for service in manifest.services {
        if !services.contains(&service) {
            services.push(service);
        }
    }
    let operations = manifest
        .operations
        .into_iter()
        .zip(checked)
        .map(|(op, checked)| OperationInfo {
            input_schema: checked.input_schema,
            output_schema: checked.output_schema,
            effect: checked.effect,
            idempotent: checked.idempotent,
            name: op.name,
            title: op.title,
            description: op.description,
        })
        .collect();
    let apis = raw
        .apis
        .into_iter()
        .map(|api| {
            let mut credentials: Vec<&'static str> = api.credentials.into_iter().map(credential_kind_name).collect();
            credentials.dedup();
            ApiInfo { name: api.name, title: api.title, default_base_url: api.default_base_url, credentials }
        })
        .collect();
    Ok(Manifest { name: manifest.name, title: manifest.title, version: manifest.version, services, apis, operations })
}

/// The name of the contract interface `component` exports
/// (`connector:api/connector@0.1.1`).
pub(crate) fn contract_export(engine: &Engine, component: &Component) -> Option<String> {
    let ty = component.component_type();
    let found = ty.exports(engine).map(|(name, _)| name).find(|name| unversioned(name) == contract::EXPORT);
    found.map(str::to_owned)
}

/// What the meta-schema of JSON Schema 2020-12 finds wrong with `schema`
/// (`what` names it: "the input schema of operation `x`").
pub(crate) fn schema_problems(what: &str, schema: &serde_json::Value) -> Vec<String> {
    match jsonschema::draft202012::meta::validate(schema) {
        Ok(()) => Vec::new(),
        Err(error) => {
            vec![format!("{what} is not valid JSON Schema 2020-12: {} (at {})", error, error.instance_path())]
        }
    }
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

    fn raw_manifest(name: &str, operations: &[&str]) -> RawDescription {
        use bindings::connector::api::types;
        let manifest = types::Manifest {
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
        };
        RawDescription { manifest, details: Vec::new(), apis: Vec::new() }
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
        many.manifest.operations =
            raw_manifest("ok", &["op"]).manifest.operations.into_iter().cycle().take(10_001).collect();
        let err = check_manifest(many).unwrap_err().to_string();
        assert!(err.contains("10001 operations, over the limit of 10000"), "{err}");
        let mut bad_service = raw_manifest("ok", &[]);
        bad_service.manifest.services = vec!["evil.com/x".into()];
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
