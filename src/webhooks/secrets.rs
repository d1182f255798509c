//! Signing secrets: made, kept encrypted, and used to sign exactly as the Standard Webhooks
//! specification says (standardwebhooks.com): `whsec_` + base64 of the key, and
//! `v1,` + base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::Secret;

const PREFIX: &str = "whsec_";
/// Bytes of key in a new secret (the specification asks for 24 to 64).
const KEY_BYTES: usize = 32;
const SEALED_VERSION: &str = "v1.";

/// A new secret, as it is shown once to the endpoint's owner.
pub fn generate() -> String {
    let key: [u8; KEY_BYTES] = rand::random();
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_` secret.
fn key_of(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()
}

/// One `webhook-signature` entry for `body` sent as message `id` at `timestamp`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = key_of(secret)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Encrypts secrets for the database and decrypts them to sign: a stolen copy of the database
/// alone does not let anyone forge deliveries.
#[derive(Clone)]
pub struct Sealer(XChaCha20Poly1305);

impl Sealer {
    /// The cipher's key is the SHA-256 of `WEBHOOK_SECRETS_KEY`, so any string of 32 bytes or
    /// more serves.
    pub fn new(key: &Secret) -> Self {
        let digest = Sha256::digest(key.expose());
        Self(XChaCha20Poly1305::new(&digest))
    }

    pub fn seal(&self, secret: &str) -> String {
        let nonce: [u8; 24] = rand::random();
        let mut sealed = nonce.to_vec();
        // Encryption only fails for inputs of gigabytes.
        if let Ok(ciphertext) = self.0.encrypt(&XNonce::from(nonce), secret.as_bytes()) {
            sealed.extend(ciphertext);
        }
        format!("{SEALED_VERSION}{}", STANDARD.encode(sealed))
    }

    /// `None` when the value was sealed under another key (or is not a sealed value).
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = STANDARD.decode(sealed.strip_prefix(SEALED_VERSION)?).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce = XNonce::from(<[u8; 24]>::try_from(nonce).ok()?);
        let plain = self.0.decrypt(&nonce, ciphertext).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specification_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn new_secrets_carry_enough_key() {
        let secret = generate();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(key_of(&secret).map(|k| k.len()), Some(KEY_BYTES));
        assert_ne!(generate(), secret);
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let sealer = Sealer::new(&Secret::new("k".repeat(32)));
        let sealed = sealer.seal("whsec_abc");
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(sealer.open(&sealed).as_deref(), Some("whsec_abc"));
        assert_ne!(sealer.seal("whsec_abc"), sealed, "a fresh nonce each time");
        let other = Sealer::new(&Secret::new("j".repeat(32)));
        assert_eq!(other.open(&sealed), None);
        assert_eq!(sealer.open("whsec_abc"), None);
    }
}
