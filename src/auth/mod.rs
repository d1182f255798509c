//! Authentication: password hashing, access tokens (JWT) and rotating refresh tokens.

pub mod cookie;
pub mod jwt;
pub mod password;
pub mod session;

pub use jwt::JwtKeys;
