//! `sha256:<hex>`: how the host names bytes (components, manifests) in
//! grants, listings, logs and registries.

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of a SHA-256 hash.
pub(crate) fn digest_text(digest: &[u8; 32]) -> String {
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    digest_text(&Sha256::digest(bytes).into())
}
