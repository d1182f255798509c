//! Domain types: valid by construction, so code that holds one need not check it again. Also
//! the core's errors, and how these types are stored (`sql`).

pub mod account;
pub mod addon;
pub mod address;
pub mod campaign;
pub mod charge;
pub mod comment;
pub mod display_name;
pub mod email;
pub mod error;
pub mod fulfilment;
pub mod funding;
pub mod image;
pub mod money;
pub mod outbox;
pub mod password;
pub mod pledge;
pub mod referral;
pub mod search;
mod sql;
pub mod survey;
pub mod text;
pub mod tier;
pub mod user;
pub mod webhook;

pub use account::TokenPurpose;
pub use addon::AddonId;
pub use campaign::{CampaignId, CampaignStatus, Category};
pub use charge::ChargeStatus;
pub use comment::CommentId;
pub use display_name::DisplayName;
pub use email::Email;
pub use error::{CoreError, FieldError, FieldErrors, Refusal, Resource};
pub use fulfilment::FulfilmentStatus;
pub use funding::FundingModel;
pub use image::ImageId;
pub use money::{Currency, Money};
pub use outbox::OutboxStatus;
pub use password::NewPassword;
pub use pledge::{PledgeId, PledgeStatus};
pub use tier::{Shipping, TierId, Visibility};
pub use user::{Actor, Role, UserId};
pub use webhook::{DeliveryId, DeliveryStatus, EndpointId, EventType};
