//! `Stripe-Signature` verification: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">[,v1=…]`
//! with the endpoint's signing secret. The newest timestamp must be within five minutes of now,
//! and the comparison is constant-time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far the signed timestamp may be from now, either way.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused (the webhook answers 400 with this).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("the signature's timestamp is more than 300 seconds from now")]
    Stale,
    #[error("no signature matches the payload")]
    Mismatch,
}

/// HMAC-SHA256 of `timestamp.payload`; `None` only for a key HMAC refuses (none: it takes any length).
fn mac(secret: &[u8], timestamp: &str, payload: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `header` against `payload` (the raw body, byte for byte).
pub fn verify(header: &str, payload: &[u8], secret: &[u8], now_unix: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    let seconds: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now_unix - seconds).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let matches = signatures.iter().any(|sig| {
        unhex(sig)
            .zip(mac(secret, t, payload))
            .is_some_and(|(bytes, mac)| mac.verify_slice(&bytes).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header Stripe would send for `payload` at `now_unix` (for tests and local tooling).
pub fn sign(payload: &[u8], secret: &[u8], now_unix: i64) -> String {
    let t = now_unix.to_string();
    let digest = mac(secret, &t, payload).map_or_else(Vec::new, |m| m.finalize().into_bytes().to_vec());
    format!("t={t},v1={}", crate::config::hex(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signature_of_the_payload_is_accepted() {
        let header = sign(b"{\"id\":\"evt_1\"}", SECRET, NOW);
        assert_eq!(verify(&header, b"{\"id\":\"evt_1\"}", SECRET, NOW + 10), Ok(()));
    }

    #[test]
    fn one_of_several_signatures_may_match() {
        let good = sign(b"body", SECRET, NOW);
        let header = format!("t={NOW},v1=00ff,{}", good.split(',').nth(1).unwrap());
        assert_eq!(verify(&header, b"body", SECRET, NOW), Ok(()));
    }

    #[test]
    fn tampering_the_wrong_secret_or_time_is_refused() {
        let header = sign(b"body", SECRET, NOW);
        assert_eq!(
            verify(&header, b"body!", SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, b"body", b"whsec_other", NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, b"body", SECRET, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&header, b"body", SECRET, NOW - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(&header, b"body", SECRET, NOW + 300), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused() {
        for header in ["", "v1=abcd", "t=abc,v1=abcd", &format!("t={NOW}"), "garbage"] {
            assert_eq!(
                verify(header, b"body", SECRET, NOW),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
        let bad_hex = format!("t={NOW},v1=zz");
        assert_eq!(
            verify(&bad_hex, b"body", SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }
}
