//! AWS credentials and region, resolved by aws-config (environment, shared
//! profiles, SSO, web identity, container and instance metadata) and held by
//! the host only.
//!
//! Guards against leaking a secret: credentials never leave this module
//! except into the SigV4 signer; `aws_credential_types::Credentials` redacts
//! its keys in `Debug`, and our errors carry the provider's message, never a
//! key. Credentials are resolved on first use, cached, and refreshed five
//! minutes before they expire.

use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::Mutex;

use crate::escape::error_chain;

/// How early cached credentials are refreshed before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Where the host's AWS credentials come from.
#[derive(Clone, Debug, Default)]
pub enum CredentialsConfig {
    /// The AWS SDK's default chain, optionally with a named profile.
    #[default]
    DefaultChain,
    /// The default chain with this profile (`--profile`, `AWS_PROFILE`).
    Profile(String),
    /// Fixed credentials, for tests and embedders that manage their own.
    Static(Credentials),
    /// No credentials at all: only requests a connector sends unsigned (the
    /// operations a service allows without AWS credentials) can succeed.
    None,
}

/// Loads the SDK configuration: region and credentials provider.
pub async fn load_sdk_config(credentials: &CredentialsConfig, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    match credentials {
        CredentialsConfig::DefaultChain => {}
        CredentialsConfig::Profile(name) => loader = loader.profile_name(name),
        CredentialsConfig::Static(creds) => loader = loader.credentials_provider(creds.clone()),
        CredentialsConfig::None => loader = loader.no_credentials(),
    }
    loader.load().await
}

/// Cached credentials from one provider.
pub struct CredentialCache {
    provider: Option<SharedCredentialsProvider>,
    /// The current credentials: read without waiting on every signed call.
    current: RwLock<Option<Credentials>>,
    /// Held while resolving, so concurrent callers wait for one resolution.
    refreshing: Mutex<()>,
}

impl CredentialCache {
    /// Caches what `provider` gives; `None` when no provider is configured.
    pub fn new(provider: Option<SharedCredentialsProvider>) -> Self {
        CredentialCache { provider, current: RwLock::new(None), refreshing: Mutex::new(()) }
    }

    fn fresh_current(&self) -> Option<Credentials> {
        self.current.read().expect("credentials lock").as_ref().filter(|c| fresh(c)).cloned()
    }

    /// Current credentials, resolved on first use and refreshed before they
    /// expire. Concurrent callers wait for one resolution.
    pub async fn get(&self) -> anyhow::Result<Credentials> {
        if let Some(creds) = self.fresh_current() {
            return Ok(creds);
        }
        let _refreshing = self.refreshing.lock().await;
        if let Some(creds) = self.fresh_current() {
            return Ok(creds);
        }
        let provider = self.provider.as_ref().context(
            "this request must be signed, but the host runs without AWS credentials \
             (configure credentials, or use only operations that need none)",
        )?;
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| anyhow::anyhow!("could not load AWS credentials: {}", error_chain(&e)))?;
        *self.current.write().expect("credentials lock") = Some(creds.clone());
        Ok(creds)
    }
}

fn fresh(creds: &Credentials) -> bool {
    creds.expiry().is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that counts how often it is asked, handing out
    /// credentials that expire `lifetime` from now.
    #[derive(Debug)]
    struct Counting {
        calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        lifetime: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let expiry = SystemTime::now() + self.lifetime;
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                "secret",
                None,
                Some(expiry),
                "counting",
            )))
        }
    }

    async fn counted(lifetime: Duration, gets: usize) -> (usize, String) {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let provider = Counting { calls: calls.clone(), lifetime };
        let cache = std::sync::Arc::new(CredentialCache::new(Some(SharedCredentialsProvider::new(provider))));
        let mut last = String::new();
        let concurrent: Vec<_> = (0..gets)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.get().await.unwrap().access_key_id().to_owned() })
            })
            .collect();
        for task in concurrent {
            last = task.await.unwrap();
        }
        for _ in 0..gets {
            last = cache.get().await.unwrap().access_key_id().to_owned();
        }
        (calls.load(std::sync::atomic::Ordering::SeqCst), last)
    }

    #[tokio::test]
    async fn credentials_are_resolved_once_and_refreshed_before_expiry() {
        // Long-lived: 20 concurrent and 20 later gets ask the provider once.
        assert_eq!(counted(Duration::from_secs(3600), 20).await, (1, "AKID1".to_owned()));
        // Expiring inside the refresh margin: every get refreshes.
        let (calls, last) = counted(Duration::from_secs(60), 3).await;
        assert_eq!(calls, 6, "refreshed on each of 6 gets");
        assert_eq!(last, "AKID6");
    }

    #[tokio::test]
    async fn missing_provider_is_a_clear_error() {
        let err = CredentialCache::new(None).get().await.unwrap_err();
        assert!(err.to_string().contains("runs without AWS credentials"));
    }

    #[test]
    fn expiring_credentials_are_not_fresh() {
        let soon = Credentials::new("a", "b", None, Some(SystemTime::now() + Duration::from_secs(60)), "test");
        let later = Credentials::new("a", "b", None, Some(SystemTime::now() + Duration::from_secs(3600)), "test");
        assert!(!fresh(&soon));
        assert!(fresh(&later));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let creds =
            Credentials::new("AKIDEXAMPLE", "super-secret-value", Some("session-token-value".into()), None, "test");
        let debug = format!("{creds:?}");
        assert!(!debug.contains("super-secret-value") && !debug.contains("session-token-value"), "{debug}");
    }
}
