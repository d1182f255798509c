//! Domain types: valid by construction, so code that holds one need not check it again.

pub mod display_name;
pub mod email;
pub mod password;
pub mod user;

pub use display_name::DisplayName;
pub use email::Email;
pub use password::NewPassword;
pub use user::{Role, UserId};
