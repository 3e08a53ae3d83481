//! Refresh tokens kept across restarts, encrypted at rest: an OAuth 2.0
//! provider that rotates refresh tokens invalidates each one once used,
//! so a host that forgot the latest would lose the grant.
//!
//! Guards against a stored refresh token read by whoever can read the
//! file, and one swapped in from elsewhere: ChaCha20-Poly1305 with a
//! 256-bit key the operator gives (never stored beside it), a fresh random
//! nonce on every write, and the connection's identity (its API and token
//! endpoint) as associated data, so another connection's store does not
//! decrypt as this one's. Writes go to a private (0600) temporary file,
//! synced, then renamed over the store, so a crash leaves the old store or
//! the new one, never half of either.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The first line of a store, naming its format.
const HEADER: &str = "connector-host token store v1";

/// Largest store read.
const MAX_STORE_BYTES: u64 = 64 * 1024;

/// An encrypted file holding one connection's latest refresh token.
pub(crate) struct TokenStore {
    path: PathBuf,
    key: LessSafeKey,
    /// What binds the store to its connection (associated data).
    context: String,
}

/// What a store holds, once decrypted.
#[derive(Serialize, Deserialize)]
pub(crate) struct Stored {
    pub(crate) refresh_token: String,
    /// `sha256:<hex>` of the refresh token the operator configured that
    /// this one was rotated from: when the operator configures another
    /// one, the store is stale.
    pub(crate) origin: String,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored").field("refresh_token", &"***").field("origin", &self.origin).finish()
    }
}

impl TokenStore {
    /// A store at `path` encrypted with `key` (32 bytes, base64), bound to
    /// `context`.
    pub(crate) fn new(path: PathBuf, key: &str, context: String) -> anyhow::Result<Self> {
        let bytes = BASE64.decode(key.trim()).ok().filter(|bytes| bytes.len() == 32).context(
            "the token store key must be 32 bytes, base64-encoded (make one with `openssl rand -base64 32`)",
        )?;
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &bytes).expect("a 32-byte key"));
        Ok(TokenStore { path, key, context })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// What the store holds; `None` when there is no store yet. An error
    /// when it cannot be read or decrypted (a wrong key, another
    /// connection's store, a damaged file).
    pub(crate) fn load(&self) -> anyhow::Result<Option<Stored>> {
        if !self.path.exists() {
            return Ok(None);
        }
        let what = || format!("the token store {}", self.path.display());
        let bytes = crate::files::read_capped(&self.path, MAX_STORE_BYTES, "token store", "a smaller file")?;
        let text = String::from_utf8(bytes).ok().with_context(|| format!("{} is not a token store", what()))?;
        let Some((HEADER, sealed)) = text.split_once('\n') else {
            bail!("{} is not a token store (its first line is not `{HEADER}`)", what());
        };
        let mut sealed = BASE64.decode(sealed.trim()).ok().with_context(|| format!("{} is damaged", what()))?;
        if sealed.len() < NONCE_LEN {
            bail!("{} is damaged", what());
        }
        let body = sealed.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&sealed).expect("a nonce's length");
        let mut body = body;
        let plain = self.key.open_in_place(nonce, Aad::from(self.context.as_bytes()), &mut body).map_err(|_| {
            anyhow::anyhow!(
                "{} cannot be decrypted with the configured key: a wrong key, another connection's store, or a \
                 damaged file",
                what()
            )
        })?;
        let stored: Stored = serde_json::from_slice(plain).with_context(|| format!("{} is damaged", what()))?;
        Ok(Some(stored))
    }

    /// Replaces what the store holds with `stored`.
    pub(crate) fn save(&self, stored: &Stored) -> anyhow::Result<()> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut body = serde_json::to_vec(stored).expect("a stored token serializes");
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.context.as_bytes()),
                &mut body,
            )
            .map_err(|_| anyhow::anyhow!("could not encrypt the refresh token"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&body);
        let text = format!("{HEADER}\n{}\n", BASE64.encode(&sealed));
        crate::files::write_atomically(&self.path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_survives_only_with_its_key_and_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/crm.token");
        let key = BASE64.encode([7u8; 32]);
        let store = TokenStore::new(path.clone(), &key, "crm https://login/token".into()).unwrap();
        assert!(store.load().unwrap().is_none());
        store.save(&Stored { refresh_token: "rt-secret-1".into(), origin: "abc".into() }).unwrap();
        store.save(&Stored { refresh_token: "rt-secret-2".into(), origin: "abc".into() }).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(HEADER) && !text.contains("rt-secret"), "{text}");
        #[cfg(unix)]
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions()) & 0o777,
            0o600
        );
        assert_eq!(store.load().unwrap().unwrap().refresh_token, "rt-secret-2");
        let other_key = TokenStore::new(path.clone(), &BASE64.encode([8u8; 32]), "crm https://login/token".into());
        let err = other_key.unwrap().load().unwrap_err().to_string();
        assert!(err.contains("cannot be decrypted with the configured key"), "{err}");
        let other_connection = TokenStore::new(path.clone(), &key, "sales https://login/token".into()).unwrap();
        assert!(other_connection.load().is_err(), "bound to its connection");
        std::fs::write(&path, format!("{HEADER}\n{}\n", BASE64.encode([1u8; 40]))).unwrap();
        assert!(store.load().unwrap_err().to_string().contains("cannot be decrypted"));
        std::fs::write(&path, "something else").unwrap();
        assert!(store.load().unwrap_err().to_string().contains("is not a token store"));
        let err = TokenStore::new(path, "c2hvcnQ=", String::new()).err().unwrap().to_string();
        assert!(err.contains("32 bytes, base64-encoded"), "{err}");
    }
}
