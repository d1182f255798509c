//! Authentication: password hashing, access tokens (JWT) and rotating refresh tokens.

pub mod cookie;
pub mod extractor;
pub mod jwt;
pub mod password;
pub mod session;

pub use extractor::{AuthUser, MaybeAuthUser};
pub use jwt::JwtKeys;
