//! Domain types: valid by construction, so code that holds one need not check it again.

pub mod campaign;
pub mod display_name;
pub mod email;
pub mod money;
pub mod password;
pub mod pledge;
pub mod tier;
pub mod user;

pub use campaign::{CampaignId, CampaignStatus, Category};
pub use display_name::DisplayName;
pub use email::Email;
pub use money::{Currency, Money};
pub use password::NewPassword;
pub use pledge::PledgeStatus;
pub use tier::{Shipping, TierId};
pub use user::{Role, UserId};
