use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{CampaignId, CampaignStatus, Currency, Money};
use crate::http::{ApiError, AppState, AuthUser};
use crate::settlement::figures::{self, Figures};

/// A count of pledges and their total.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tally {
    pub pledges: i64,
    #[schema(example = "1250.00")]
    pub amount: String,
}

/// A closed campaign's settlement. `collected = processing_fees + platform_fee + payout + in_escrow`,
/// and `in_escrow` is zero once the campaign is successful. Refunds come out of the payout:
/// `creator_payable` is what is left of it, `owed_by_creator` what refunds took beyond it.
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
    /// What the creator is owed now: the payout less the refunds made since (never below zero).
    #[schema(example = "181.84")]
    pub creator_payable: String,
    /// What the creator owes back when refunds took more than the payout left (else zero).
    #[schema(example = "0.00")]
    pub owed_by_creator: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The late pledges, made after the campaign's success: none of the figures above counts
    /// them, except `creator_payable` and `owed_by_creator`, which include their payouts.
    pub late: LateSettlement,
}

/// Late pledges' figures: `collected = processing_fees + platform_fee + payout`, each pledge's
/// share posted to the creator when it is charged.
#[derive(Debug, Serialize, ToSchema)]
pub struct LateSettlement {
    pub collected: Tally,
    /// Being charged, or waiting for the backer to confirm.
    pub in_flight: Tally,
    /// Declined when charged.
    pub dropped: Tally,
    pub refunded: Tally,
    pub processing_fees: String,
    pub platform_fee: String,
    pub payout: String,
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
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let figures = state.db.run(move |conn| figures::of(conn, id, &user)).await?;
    Ok(HttpResponse::Ok().json(SettlementResponse::from(figures)))
}

impl From<Figures> for SettlementResponse {
    fn from(f: Figures) -> Self {
        let currency = f.campaign.currency;
        let money = |minor: i64| Money::from_minor(minor, currency).to_decimal_string();
        let tally = |t: figures::Tally| Tally {
            pledges: t.pledges,
            amount: money(t.amount_minor),
        };
        Self {
            campaign_id: f.campaign.id.0,
            status: f.campaign.status,
            currency,
            goal: money(f.campaign.goal_minor.unwrap_or_default()),
            pledged_at_deadline: money(f.pledged_at_deadline_minor),
            backers_at_deadline: f.backers_at_deadline,
            collected: tally(f.collected),
            in_flight: tally(f.in_flight),
            dropped: tally(f.dropped),
            released: tally(f.released),
            refunded: tally(f.refunded),
            processing_fees: money(f.processing_fees_minor),
            platform_fee: money(f.platform_fee_minor),
            payout: money(f.payout_minor),
            in_escrow: money(f.in_escrow_minor),
            creator_payable: money(f.creator_balance_minor.max(0)),
            owed_by_creator: money(f.creator_balance_minor.saturating_neg().max(0)),
            closed_at: f.campaign.closed_at.map(|t| t.and_utc()),
            completed_at: f.campaign.completed_at.map(|t| t.and_utc()),
            late: LateSettlement {
                collected: tally(f.late.collected),
                in_flight: tally(f.late.in_flight),
                dropped: tally(f.late.dropped),
                refunded: tally(f.late.refunded),
                processing_fees: money(f.late.processing_fees_minor),
                platform_fee: money(f.late.platform_fee_minor),
                payout: money(f.late.payout_minor),
            },
        }
    }
}
