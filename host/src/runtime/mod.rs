//! The connector runtime: loading components into connectors (checking
//! their contract and manifest), invoking their operations, and keeping a
//! long-lived set of named connectors that come and go while calls flow.

mod connector;
mod host;
mod metrics;
mod registry;
pub(crate) mod schema;
mod source;
mod watch;

pub(crate) use connector::schema_problems;
pub use connector::{ApiInfo, Connector, Effect, Manifest, OperationHints, OperationInfo};
pub use host::{CallContext, CallerIdentity, ConnectorHost, HostConfig, Inspection, InvokeOutcome, LoadOptions};
pub use registry::{Reloaded, Runtime, RuntimeEvent};
pub use source::ComponentSource;
pub use watch::DirectoryWatch;
