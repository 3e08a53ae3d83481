//! MCP sessions on `serve`'s `/mcp`, bounded: rmcp's in-memory sessions,
//! at most a fixed number at once.
//!
//! Guards against: a client opening sessions without end (each keeps a
//! task and its buffers for minutes: 1,500 `initialize` calls once held
//! about 85 MiB). Past the bound, the least recently used session is
//! closed to make room; its client gets 404 on its next request and, as
//! MCP clients do, starts a new session.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use futures_util::Stream;
use lru::LruCache;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::WorkerTransport;
use rmcp::transport::common::server_side_http::{ServerSseMessage, SessionId};
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, LocalSessionWorker,
};

/// rmcp's local sessions, at most `max` at once.
pub(super) struct BoundedSessions {
    inner: LocalSessionManager,
    /// Every session, least recently used first out.
    recent: Mutex<LruCache<SessionId, ()>>,
}

impl BoundedSessions {
    pub(super) fn new(max: NonZeroUsize) -> Self {
        BoundedSessions { inner: LocalSessionManager::default(), recent: Mutex::new(LruCache::new(max)) }
    }

    /// Marks `id` as just used.
    fn touch(&self, id: &SessionId) {
        self.recent.lock().expect("sessions lock").promote(id);
    }
}

impl SessionManager for BoundedSessions {
    type Error = LocalSessionManagerError;
    type Transport = WorkerTransport<LocalSessionWorker>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        let evicted = self.recent.lock().expect("sessions lock").push(id.clone(), ()).map(|(old, ())| old);
        if let Some(old) = evicted.filter(|old| *old != id) {
            tracing::info!(session = %old, "MCP session closed to make room for a new one (--max-mcp-sessions)");
            // The new session exists either way; one that will not close
            // is gone from the table and ends with its idle timeout.
            if let Err(e) = self.inner.close_session(&old).await {
                tracing::warn!(session = %old, error = %e, "an MCP session made way but did not close");
            }
        }
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.touch(id);
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.recent.lock().expect("sessions lock").pop(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.resume(id, last_event_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_least_recently_used_session_makes_room() {
        let sessions = BoundedSessions::new(NonZeroUsize::new(2).unwrap());
        let (first, _t1) = sessions.create_session().await.unwrap();
        let (second, _t2) = sessions.create_session().await.unwrap();
        sessions.touch(&first);
        let (third, _t3) = sessions.create_session().await.unwrap();
        assert!(sessions.has_session(&first).await.unwrap(), "used recently");
        assert!(!sessions.has_session(&second).await.unwrap(), "closed to make room");
        assert!(sessions.has_session(&third).await.unwrap());
        sessions.close_session(&third).await.unwrap();
        assert_eq!(sessions.recent.lock().unwrap().len(), 1);
    }
}
