//! [`Runtime`]: a long-lived set of named connectors over one
//! [`ConnectorHost`], where connectors are loaded, replaced and unloaded
//! while calls flow. A call takes the connector it starts with (a cheap
//! clone), so a replacement or an unload never fails a call in flight: the
//! old version stays alive until its last call ends.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::error::{InvokeError, LoadError};
use crate::escape::{escape_untrusted, truncate_chars};
use crate::oci::OciReference;
use crate::runtime::{ComponentSource, Connector, ConnectorHost, LoadOptions};

/// How errors and logs name `source`.
fn origin_of(source: &ComponentSource) -> String {
    escape_untrusted(&source.to_string()).into_owned()
}

/// The alias grants and authentications may select `source`'s connector
/// by: a file's name without `.wasm`, or the last part of a repository.
fn alias_of(source: &ComponentSource) -> Option<String> {
    let alias = match source {
        ComponentSource::File(path) => path.file_stem().and_then(|s| s.to_str())?,
        ComponentSource::Oci(reference) => reference.repository().rsplit('/').next()?,
    };
    crate::selector::is_alias(alias).then(|| alias.to_owned())
}

/// Something that happened to the set of connectors.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeEvent {
    /// A connector was loaded, or replaced by a new version.
    Loaded { name: String, digest: String, replaced: Option<String> },
    /// A connector was unloaded.
    Unloaded { name: String },
    /// A component failed to load; what served before keeps serving.
    LoadFailed { origin: String, error: String },
}

/// Connectors by name, ready to invoke.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// use connector_host::{ConnectorHost, HostConfig, Runtime};
/// let runtime = Runtime::new(ConnectorHost::new(HostConfig::default()).await?);
/// let mut events = runtime.subscribe();
/// runtime.load_path("connectors/guest_cognito.wasm".as_ref()).await?;
/// println!("{:?}", events.recv().await?);
/// let pools = runtime.invoke("aws-cognito", "list_user_pools", &serde_json::json!({"max_results": 10})).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    host: ConnectorHost,
    connectors: RwLock<BTreeMap<String, Entry>>,
    /// The last load error of each origin (a file path) that failed, until
    /// it loads or goes away.
    errors: RwLock<BTreeMap<String, String>>,
    events: broadcast::Sender<RuntimeEvent>,
}

#[derive(Clone)]
struct Entry {
    connector: Connector,
    /// The file or reference it came from; `None` for connectors added
    /// from bytes.
    source: Option<ComponentSource>,
}

/// What [`Runtime::reload_reference`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The reference still names what is served.
    Unchanged { pinned: String },
    /// The reference now names other bytes, which now serve.
    Changed { pinned: String, previous: Option<String> },
}

impl Runtime {
    /// An empty runtime over `host`.
    pub fn new(host: ConnectorHost) -> Self {
        let (events, _) = broadcast::channel(256);
        Runtime { inner: Arc::new(Inner { host, connectors: RwLock::default(), errors: RwLock::default(), events }) }
    }

    /// The host underneath.
    pub fn host(&self) -> &ConnectorHost {
        &self.inner.host
    }

    /// Events from now on: loads, replacements, unloads, load failures. A
    /// receiver that falls behind by more than 256 events misses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.inner.events.subscribe()
    }

    /// Loads the component at `path` and serves it under its manifest name,
    /// with its file name (without `.wasm`) as its alias. A connector
    /// loaded earlier from the same path (as given) is replaced; a name
    /// held by a connector from another source is refused. On failure,
    /// whatever served before keeps serving and the error is listed by
    /// [`load_errors`](Self::load_errors) until the file loads or is
    /// forgotten.
    pub async fn load_path(&self, path: &Path) -> Result<Connector, LoadError> {
        self.load_source(&ComponentSource::File(path.to_owned())).await
    }

    /// Like [`load_path`](Self::load_path), for a file or an OCI reference;
    /// a reference's alias is the last part of its repository.
    pub async fn load_source(&self, source: &ComponentSource) -> Result<Connector, LoadError> {
        let options = LoadOptions { alias: alias_of(source), ..LoadOptions::default() };
        let loaded = self.inner.host.load_source(source, &options).await;
        self.serve_loaded(source, loaded)
    }

    /// Resolves `reference` again (a tag may have moved) and, when it now
    /// names other bytes than the connector it serves, loads and serves
    /// those. Nothing changes on failure.
    pub async fn reload_reference(&self, reference: &OciReference) -> Result<Reloaded, LoadError> {
        let source = ComponentSource::Oci(reference.clone());
        let pulled = match self.inner.host.pull(reference).await {
            Ok(pulled) => pulled,
            Err(error) => {
                self.failed(&origin_of(&source), &error);
                return Err(error);
            }
        };
        let pinned = pulled.pinned.to_string();
        let previous = self.served_from(&source).and_then(|c| c.reference().map(str::to_owned));
        if previous.as_deref() == Some(pinned.as_str()) {
            return Ok(Reloaded::Unchanged { pinned });
        }
        let options = LoadOptions { alias: alias_of(&source), ..LoadOptions::default() };
        let loaded = self.inner.host.load_pulled(pulled, reference, &options).await;
        self.serve_loaded(&source, loaded)?;
        tracing::info!(reference = %reference, pinned = %pinned, previous = previous.as_deref(), "reference reloaded");
        Ok(Reloaded::Changed { pinned, previous })
    }

    /// The connector `source` serves, if any.
    fn served_from(&self, source: &ComponentSource) -> Option<Connector> {
        let connectors = self.inner.connectors.read().expect("connectors lock");
        connectors.values().find(|e| e.source.as_ref() == Some(source)).map(|e| e.connector.clone())
    }

    fn serve_loaded(
        &self,
        source: &ComponentSource,
        loaded: Result<Connector, LoadError>,
    ) -> Result<Connector, LoadError> {
        let origin = origin_of(source);
        let result = loaded.and_then(|connector| self.insert(connector, Some(source.clone()), &origin));
        match &result {
            Ok(_) => {
                self.inner.errors.write().expect("errors lock").remove(&origin);
            }
            Err(error) => self.failed(&origin, error),
        }
        result
    }

    /// Loads a connector from its component's bytes and serves it under its
    /// manifest name, replacing any connector of that name.
    pub async fn load_bytes(&self, bytes: Vec<u8>, options: &LoadOptions) -> Result<Connector, LoadError> {
        let connector = self.inner.host.load_bytes(bytes, options).await?;
        self.add(connector.clone());
        Ok(connector)
    }

    /// Serves `connector` under its name, replacing any connector of that
    /// name.
    pub fn add(&self, connector: Connector) {
        let name = connector.name().to_owned();
        let digest = connector.digest().to_owned();
        let previous = self
            .inner
            .connectors
            .write()
            .expect("connectors lock")
            .insert(name.clone(), Entry { connector, source: None });
        let replaced = previous.map(|p| p.connector.digest().to_owned());
        self.publish(RuntimeEvent::Loaded { name, digest, replaced });
    }

    fn insert(
        &self,
        connector: Connector,
        source: Option<ComponentSource>,
        origin: &str,
    ) -> Result<Connector, LoadError> {
        let name = connector.name().to_owned();
        let mut unloaded = Vec::new();
        let replaced = {
            let mut connectors = self.inner.connectors.write().expect("connectors lock");
            // A name held by another source that still exists is refused;
            // one whose file is gone (a rename, the next version replacing
            // the last) passes to the new file without a gap.
            let still_there = |source: &ComponentSource| match source {
                ComponentSource::File(path) => path.exists(),
                ComponentSource::Oci(_) => true,
            };
            let held_elsewhere = |held: &&Entry| held.source != source && held.source.as_ref().is_none_or(still_there);
            if let Some(holder) = connectors.get(&name).filter(held_elsewhere) {
                let holder = holder
                    .source
                    .as_ref()
                    .map_or_else(|| "a component added from bytes".to_owned(), ComponentSource::to_string);
                return Err(LoadError::NameConflict {
                    origin: origin.to_owned(),
                    name,
                    holder: escape_untrusted(&holder).into_owned(),
                });
            }
            // The same file may now claim another name: drop the old one.
            let stale: Vec<String> = connectors
                .iter()
                .filter(|(n, e)| **n != name && e.source == source && source.is_some())
                .map(|(n, _)| n.clone())
                .collect();
            for stale_name in stale {
                connectors.remove(&stale_name);
                unloaded.push(stale_name);
            }
            connectors
                .insert(name.clone(), Entry { connector: connector.clone(), source })
                .map(|p| p.connector.digest().to_owned())
        };
        for name in unloaded {
            tracing::info!(connector = %name, "connector unloaded (its file now names another connector)");
            self.publish(RuntimeEvent::Unloaded { name });
        }
        self.publish(RuntimeEvent::Loaded { name, digest: connector.digest().to_owned(), replaced });
        Ok(connector)
    }

    /// Publishes a change: the event, and the gauge of connectors served.
    fn publish(&self, event: RuntimeEvent) {
        let count = self.inner.connectors.read().expect("connectors lock").len();
        self.inner.host.metrics().set_connectors(count);
        let _ = self.inner.events.send(event);
    }

    fn failed(&self, origin: &str, error: &LoadError) {
        let text = error.to_string();
        tracing::warn!(origin = %origin, error = %escape_untrusted(&text), "connector not loaded");
        self.inner.errors.write().expect("errors lock").insert(origin.to_owned(), text.clone());
        self.publish(RuntimeEvent::LoadFailed { origin: origin.to_owned(), error: text });
    }

    /// Stops serving `name`; calls in flight finish on it.
    pub fn unload(&self, name: &str) -> Option<Connector> {
        let removed = self.inner.connectors.write().expect("connectors lock").remove(name)?;
        tracing::info!(connector = %name, "connector unloaded");
        self.publish(RuntimeEvent::Unloaded { name: name.to_owned() });
        Some(removed.connector)
    }

    /// Forgets the file at `path`: unloads what it served and drops its
    /// load error.
    pub fn forget_path(&self, path: &Path) {
        let origin = escape_untrusted(&path.display().to_string()).into_owned();
        self.inner.errors.write().expect("errors lock").remove(&origin);
        let names: Vec<String> = self
            .inner
            .connectors
            .read()
            .expect("connectors lock")
            .iter()
            .filter(|(_, e)| matches!(&e.source, Some(ComponentSource::File(p)) if p == path))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            self.unload(&name);
        }
    }

    /// The connector called `name`.
    pub fn get(&self, name: &str) -> Option<Connector> {
        self.inner.connectors.read().expect("connectors lock").get(name).map(|e| e.connector.clone())
    }

    /// Every connector, by name.
    pub fn list(&self) -> Vec<Connector> {
        self.inner.connectors.read().expect("connectors lock").values().map(|e| e.connector.clone()).collect()
    }

    /// The files and references that failed to load, with their errors.
    pub fn load_errors(&self) -> Vec<(String, String)> {
        self.inner.errors.read().expect("errors lock").iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Runs `operation` of the connector called `connector`.
    pub async fn invoke(&self, connector: &str, operation: &str, input: &Value) -> Result<Value, InvokeError> {
        let Some(found) = self.get(connector) else {
            return Err(InvokeError::UnknownConnector(format!(
                "no connector called `{}` is loaded",
                escape_untrusted(&truncate_chars(connector, 80))
            )));
        };
        self.inner.host.invoke(&found, operation, input).await
    }
}
