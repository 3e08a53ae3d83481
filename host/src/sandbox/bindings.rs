//! Host-side bindings of the connector contract (`wit/connector.wit`), and
//! a component pre-linked against them: its `connector` export, and its
//! `details` export when it has one (since 0.1.2; older connectors lack
//! it and load all the same).

use wasmtime::component::{Instance, InstancePre};
use wasmtime::{AsContextMut, Store};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "described-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

/// Package and interface names of the contract, for checking components.
pub mod contract {
    /// The WIT package, without version.
    pub const PACKAGE: &str = "connector:api";
    /// The interface a connector exports.
    pub const EXPORT: &str = "connector:api/connector";
    /// The interface a connector may also export (since 0.1.2).
    pub const DETAILS: &str = "connector:api/details";
    /// The interfaces the host provides: the capabilities (AWS services
    /// and HTTP APIs), the invocation's context and the shared types.
    pub const IMPORTS: &[&str] =
        &["connector:api/signed-http", "connector:api/http-api", "connector:api/invocation", "connector:api/types"];
    /// The contract version this host implements; it accepts any 0.1.x.
    pub const VERSION: &str = "0.1.3";
}

use exports::connector::api::{connector as connector_export, details};

/// A component linked with the host's imports, ready to instantiate.
pub(crate) struct ConnectorPre<T: 'static> {
    instance_pre: InstancePre<T>,
    connector: connector_export::GuestIndices,
    details: Option<details::GuestIndices>,
}

impl<T: 'static> Clone for ConnectorPre<T> {
    fn clone(&self) -> Self {
        ConnectorPre {
            instance_pre: self.instance_pre.clone(),
            connector: self.connector.clone(),
            details: self.details.clone(),
        }
    }
}

/// An instance's exports.
pub(crate) struct ConnectorExports {
    pub(crate) connector: connector_export::Guest,
    pub(crate) details: Option<details::Guest>,
}

impl<T: Send + 'static> ConnectorPre<T> {
    /// Finds the contract's exports in `instance_pre`: `connector` is
    /// required, `details` optional.
    pub(crate) fn new(instance_pre: InstancePre<T>) -> wasmtime::Result<Self> {
        let connector = connector_export::GuestIndices::new(&instance_pre)?;
        let details = details::GuestIndices::new(&instance_pre).ok();
        Ok(ConnectorPre { instance_pre, connector, details })
    }

    /// Instantiates the component in `store`.
    pub(crate) async fn instantiate_async(&self, store: &mut Store<T>) -> wasmtime::Result<ConnectorExports> {
        let instance: Instance = self.instance_pre.instantiate_async(store.as_context_mut()).await?;
        let connector = self.connector.load(store.as_context_mut(), &instance)?;
        let details = match &self.details {
            Some(details) => Some(details.load(store.as_context_mut(), &instance)?),
            None => None,
        };
        Ok(ConnectorExports { connector, details })
    }
}
