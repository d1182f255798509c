use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::view::currency_of;
use crate::auth::AuthUser;
use crate::campaigns::access;
use crate::db::settlement::{self, LedgerKind};
use crate::db::{campaigns, ledger};
use crate::domain::{CampaignStatus, Currency, Money};
use crate::error::ApiError;
use crate::state::AppState;

/// A count of pledges and their total.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tally {
    pub pledges: i64,
    #[schema(example = "1250.00")]
    pub amount: String,
}

/// A closed campaign's settlement. `collected = processing_fees + platform_fee + payout + in_escrow`,
/// and `in_escrow` is zero once the campaign is successful. Refunds come out of the payout.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementResponse {
    pub campaign_id: i64,
    pub status: CampaignStatus,
    pub currency: Currency,
    pub goal: String,
    /// Frozen at the deadline.
    pub pledged_at_deadline: String,
    pub backers_at_deadline: i32,
    pub collected: Tally,
    /// Still being charged or retried.
    pub in_flight: Tally,
    pub dropped: Tally,
    pub released: Tally,
    pub refunded: Tally,
    pub processing_fees: String,
    pub platform_fee: String,
    pub payout: String,
    pub in_escrow: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A campaign's settlement figures (creator and admins), once its deadline has passed.
#[utoipa::path(
    tag = "settlement",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = SettlementResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not the campaign's creator or an admin"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "The campaign has not been closed by settlement yet"),
    )
)]
#[get("/campaigns/{id}/settlement")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn settlement_view(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let response = state
        .db
        .run(move |conn| {
            let campaign = access::owned_or_admin(campaigns::find(conn, id)?, &user)?;
            let (Some(final_pledged), Some(final_backers)) =
                (campaign.final_pledged_minor, campaign.final_backer_count)
            else {
                return Err(ApiError::Conflict("the campaign has not been settled yet".into()));
            };
            let currency = currency_of(&campaign)?;
            let money = |minor: i64| Money::from_minor(minor, currency).to_decimal_string();
            let by_status = settlement::totals_by_status(conn, campaign.id)?;
            let tally = |statuses: &[&str]| {
                let (pledges, amount) = by_status
                    .iter()
                    .filter(|t| statuses.contains(&t.status.as_str()))
                    .fold((0, 0), |(n, a), t| (n + t.pledges, a + t.amount_minor));
                Tally {
                    pledges,
                    amount: money(amount),
                }
            };
            Ok(SettlementResponse {
                campaign_id: campaign.id,
                status: campaign
                    .status
                    .parse()
                    .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?,
                currency,
                goal: money(campaign.goal_minor.unwrap_or_default()),
                pledged_at_deadline: money(final_pledged),
                backers_at_deadline: final_backers,
                // Refunded pledges were collected first; their refunds come out of the payout.
                collected: tally(&["collected", "refunded"]),
                in_flight: tally(&["active", "errored"]),
                dropped: tally(&["dropped"]),
                released: tally(&["released"]),
                refunded: tally(&["refunded"]),
                processing_fees: money(settlement::fees_total(conn, campaign.id)?),
                platform_fee: money(settlement::ledger_kind_total(
                    conn,
                    campaign.id,
                    LedgerKind::PlatformFee,
                )?),
                payout: money(settlement::ledger_kind_total(
                    conn,
                    campaign.id,
                    LedgerKind::Payout,
                )?),
                in_escrow: money(ledger::escrow_balance(conn, campaign.id)?),
                closed_at: campaign.closed_at.map(|t| t.and_utc()),
                completed_at: campaign.completed_at.map(|t| t.and_utc()),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
