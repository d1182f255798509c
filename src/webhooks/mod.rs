//! Signed outbound webhooks (README, "Webhooks"): creators' and the platform's endpoints, the
//! events written beside each change in its transaction, and their delivery by a worker under
//! the Standard Webhooks scheme, with retries, per-endpoint limits and SSRF protection.

pub mod address;
pub mod delivery;
pub mod endpoints;
pub mod events;
pub mod secrets;
pub mod subscription;
pub mod worker;
