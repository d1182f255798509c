//! Email through a transactional outbox.
//!
//! - **Queued with the change**: every email is a row in `email_outbox`, inserted by [`queue`] in
//!   the same transaction as the change that causes it, so a rolled-back change sends nothing and
//!   a committed one cannot lose its email. (template, recipient, subject id) is unique: no
//!   change queues the same email twice. Nothing is sent from a request handler.
//! - **Delivered by a worker** ([`worker`]) inside `crowdfund serve`, or by `crowdfund send-mail`
//!   from cron: it claims due rows with a lease (safe across instances), renders them ([`render`])
//!   and hands them to the transport ([`transport`]): SMTP through lettre, or `.eml` files in
//!   development. A failed attempt is retried with exponential backoff; after `MAIL_MAX_ATTEMPTS`
//!   the row stays in the table as `failed`.
//! - **At least once**: a worker that dies between the SMTP server's acceptance and its own
//!   bookkeeping leaves a lease that expires, and the message is sent again with the same
//!   `Message-ID` (derived from the row), which lets receiving systems drop the duplicate.

pub mod queue;
pub mod render;
pub mod transport;
pub mod worker;

use std::fmt;
use std::str::FromStr;

/// Every email the platform sends. The name is the template's file stem and the outbox's
/// `template` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    // To backers.
    PledgeConfirmed,
    PledgeChanged,
    PledgeCanceled,
    CampaignCanceled,
    CampaignFunded,
    PaymentReceipt,
    PaymentFailed,
    PledgeDropped,
    CampaignFailed,
    RefundIssued,
    CampaignUpdate,
    Survey,
    SurveyReminder,
    RewardShipped,
    // To whoever wrote the comment replied to.
    CommentReply,
    // To a campaign's followers.
    CampaignLaunchedFollowed,
    CampaignEndingFollowed,
    // To creators.
    CampaignLaunched,
    CampaignEnding,
    CampaignSuccessful,
    CreatorCampaignFailed,
    CommentsDigest,
    // About the account itself.
    VerifyEmail,
    PasswordReset,
    PasswordChanged,
    EmailChanged,
    AccountDeleted,
    // About the account's integrations.
    WebhookDisabled,
}

impl Template {
    pub const ALL: [Template; 28] = [
        Self::PledgeConfirmed,
        Self::PledgeChanged,
        Self::PledgeCanceled,
        Self::CampaignCanceled,
        Self::CampaignFunded,
        Self::PaymentReceipt,
        Self::PaymentFailed,
        Self::PledgeDropped,
        Self::CampaignFailed,
        Self::RefundIssued,
        Self::CampaignUpdate,
        Self::Survey,
        Self::SurveyReminder,
        Self::RewardShipped,
        Self::CommentReply,
        Self::CampaignLaunchedFollowed,
        Self::CampaignEndingFollowed,
        Self::CampaignLaunched,
        Self::CampaignEnding,
        Self::CampaignSuccessful,
        Self::CreatorCampaignFailed,
        Self::CommentsDigest,
        Self::VerifyEmail,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::EmailChanged,
        Self::AccountDeleted,
        Self::WebhookDisabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PledgeConfirmed => "pledge_confirmed",
            Self::PledgeChanged => "pledge_changed",
            Self::PledgeCanceled => "pledge_canceled",
            Self::CampaignCanceled => "campaign_canceled",
            Self::CampaignFunded => "campaign_funded",
            Self::PaymentReceipt => "payment_receipt",
            Self::PaymentFailed => "payment_failed",
            Self::PledgeDropped => "pledge_dropped",
            Self::CampaignFailed => "campaign_failed",
            Self::RefundIssued => "refund_issued",
            Self::CampaignUpdate => "campaign_update",
            Self::Survey => "survey",
            Self::SurveyReminder => "survey_reminder",
            Self::RewardShipped => "reward_shipped",
            Self::CommentReply => "comment_reply",
            Self::CampaignLaunchedFollowed => "campaign_launched_followed",
            Self::CampaignEndingFollowed => "campaign_ending_followed",
            Self::CommentsDigest => "comments_digest",
            Self::CampaignLaunched => "campaign_launched",
            Self::CampaignEnding => "campaign_ending",
            Self::CampaignSuccessful => "campaign_successful",
            Self::CreatorCampaignFailed => "creator_campaign_failed",
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::EmailChanged => "email_changed",
            Self::AccountDeleted => "account_deleted",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }

    /// The account's own emails reach an address before it is verified; nothing else does.
    pub fn addresses(self) -> crate::db::outbox::Addresses {
        use crate::db::outbox::Addresses;
        match self {
            Self::VerifyEmail
            | Self::PasswordReset
            | Self::PasswordChanged
            | Self::EmailChanged
            | Self::AccountDeleted => Addresses::Any,
            _ => Addresses::Verified,
        }
    }

    /// Whether the context holds a link whose token must not outlive the email's delivery.
    pub fn carries_token(self) -> bool {
        matches!(self, Self::VerifyEmail | Self::PasswordReset)
    }
}

impl FromStr for Template {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown email template {s:?}"))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
