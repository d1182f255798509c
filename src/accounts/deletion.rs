//! Deleting an account: the person is erased, and the records that money law keeps
//! (pledges, campaigns, ledger entries, events) stay, attributed to "Deleted user".

use chrono::{DateTime, Utc};

use crate::db::users::UserRow;
use crate::db::{
    DbConn, account_tokens, campaigns, outbox, pledges, recovery_codes, refresh_tokens, users, webhooks,
};
use crate::domain::account::{DELETED_NAME, pseudonym};
use crate::domain::{CampaignStatus, CoreError, PledgeStatus, Refusal};
use crate::mail::queue::account as mail;

/// Why the account cannot go yet: money is still moving through it.
pub fn blockers(conn: &mut DbConn, user: &UserRow) -> Result<Vec<String>, CoreError> {
    let mut blockers = Vec::new();
    for campaign in campaigns::owned_by(conn, user.id)? {
        if matches!(campaign.status, CampaignStatus::Live | CampaignStatus::Funded) {
            blockers.push(format!(
                "campaign {} ({:?}) is {}: it must end and settle first",
                campaign.id,
                campaign.title,
                campaign.status.as_str()
            ));
        }
    }
    let in_progress =
        pledges::count_for_backer(conn, user.id, &[PledgeStatus::Active, PledgeStatus::Errored])?;
    if in_progress > 0 {
        blockers.push(format!(
            "{in_progress} pledge(s) still active or being collected: cancel them first (a pledge being collected must finish)"
        ));
    }
    Ok(blockers)
}

/// Erases the account (the caller checked the password and second factor). Drafts go with
/// it, and so do its webhook endpoints; unsent emails are dropped and sent ones keep only the
/// pseudonym; one last email tells the address it is gone.
pub fn delete(conn: &mut DbConn, user: &UserRow, now: DateTime<Utc>) -> Result<(), CoreError> {
    let blockers = blockers(conn, user)?;
    if !blockers.is_empty() {
        return Err(Refusal::conflict(format!(
            "the account cannot be deleted yet: {}",
            blockers.join("; ")
        ))
        .into());
    }
    for campaign in campaigns::owned_by(conn, user.id)? {
        if campaign.status == CampaignStatus::Draft {
            campaigns::delete_draft(conn, campaign.id)?;
        }
    }
    let pseudonym = pseudonym(user.id);
    outbox::forget_user(conn, user.id, &pseudonym, DELETED_NAME)?;
    refresh_tokens::delete_for(conn, user.id)?;
    account_tokens::delete_for(conn, user.id)?;
    recovery_codes::delete_for(conn, user.id)?;
    // Its endpoints' URLs are the person's systems; their deliveries go with them.
    webhooks::delete_for_owner(conn, user.id)?;
    users::pseudonymise(conn, user.id, &pseudonym, DELETED_NAME, now.naive_utc())?;
    // Addresses still needed to ship a reward stay until it is delivered (`surveys::retention`).
    crate::surveys::retention::erase_for_backer(conn, user.id, now)?;
    // What the person wrote goes with them; a comment with replies keeps its place as deleted.
    crate::db::comments::delete_by_author(conn, user.id, now.naive_utc())?;
    crate::db::follows::forget_user(conn, user.id)?;
    mail::account_deleted(conn, user.id, (&user.email, &user.display_name), &pseudonym, now)?;
    tracing::info!(user.id = %user.id, "account deleted");
    Ok(())
}
