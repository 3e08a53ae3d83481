//! Host-side bindings of the connector world (`wit/connector.wit`).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

/// Package and interface names of the contract, for checking components.
pub mod contract {
    /// The WIT package, without version.
    pub const PACKAGE: &str = "connector:api";
    /// The interface a connector exports.
    pub const EXPORT: &str = "connector:api/connector";
    /// The interfaces the host provides: the capability, the invocation's
    /// context and the shared types.
    pub const IMPORTS: &[&str] = &["connector:api/signed-http", "connector:api/invocation", "connector:api/types"];
    /// The contract version this host implements; it accepts any 0.1.x.
    pub const VERSION: &str = "0.1.1";
}
