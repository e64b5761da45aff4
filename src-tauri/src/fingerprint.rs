//! Comparing secret-bearing strings without keeping them.

/// SHA-256 of a secret-bearing string, so it is compared without being kept.
pub fn fingerprint(value: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes()).into()
}
