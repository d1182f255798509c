//! Secrets read from the environment, and the hex encoding of random values.

use std::fmt;

/// Key material that must never reach a log: `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// 32 random bytes, hex-encoded, for development runs without configured secrets.
    pub(super) fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(hex(&bytes).into_bytes())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
