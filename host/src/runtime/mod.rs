//! The connector runtime: loading components into connectors (checking
//! their contract and manifest) and invoking their operations.

mod connector;
mod host;

pub use connector::{Connector, Manifest, OperationInfo};
pub use host::{ConnectorHost, HostConfig, LoadOptions};
