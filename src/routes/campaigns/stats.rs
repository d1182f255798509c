use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::campaigns::access;
use crate::db::campaign_list::funded_bps;
use crate::db::{campaign_stats, campaigns, fulfilment, referrals, settlement, surveys, tiers};
use crate::domain::{CampaignId, CoreError, Currency, FulfilmentStatus, Money, PledgeStatus, TierId};
use crate::http::{ApiError, AppState, AuthUser};

#[derive(Debug, Serialize, ToSchema)]
pub struct TierStats {
    /// Null for pledges without a reward.
    pub tier_id: Option<i64>,
    pub title: Option<String>,
    pub backers: i64,
    #[schema(example = "1250.00")]
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayStats {
    /// UTC day, `YYYY-MM-DD`.
    #[schema(example = "2026-11-22")]
    pub date: String,
    pub pledges: i64,
    pub amount: String,
}

/// Figures over the pledges that count (active, collected, errored).
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignStats {
    pub campaign_id: i64,
    pub currency: Currency,
    pub goal: Option<String>,
    pub pledged: String,
    pub backer_count: i32,
    pub percent_funded: i64,
    /// Every tier (cheapest first), then pledges without a reward.
    pub tiers: Vec<TierStats>,
    /// Pledges still counted, by the day they were made.
    pub per_day: Vec<DayStats>,
    /// The backer survey's answers so far; null before it is sent.
    pub survey: Option<SurveyStats>,
    /// Collected pledges by fulfilment status.
    pub fulfilment: FulfilmentStats,
    /// Pledges by the ref they came with (a referral code or channel; null: none), in ref order.
    pub by_referral: Vec<ReferralStats>,
    /// Pledges made after the campaign's success, outside `pledged` and `backer_count` (the
    /// tiers, days and refs above include them).
    pub late: LateStats,
}

/// Late pledges, by how their charge went.
#[derive(Debug, Serialize, ToSchema)]
pub struct LateStats {
    /// Charged (refunds included).
    pub collected: i64,
    #[schema(example = "300.00")]
    pub collected_amount: String,
    /// Waiting for the backer to confirm the payment, or for its outcome.
    pub pending: i64,
    /// Declined when charged.
    pub declined: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralStats {
    /// A referral code of the campaign, `direct`, `search`, `embed`, `other`, or null.
    #[serde(rename = "ref")]
    pub referral: Option<String>,
    /// The tag's name, for a referral code.
    pub name: Option<String>,
    pub pledges: i64,
    pub amount: String,
    /// The part of `amount` collected.
    pub collected: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyStats {
    /// Pledges sent the survey.
    pub invited: i64,
    pub answered: i64,
    /// answered / invited, in percent, rounded down (0 with nobody invited).
    pub response_rate_percent: i64,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct FulfilmentStats {
    pub unfulfilled: i64,
    pub shipped: i64,
    pub delivered: i64,
    pub not_applicable: i64,
}

impl FulfilmentStats {
    fn count(&mut self, status: FulfilmentStatus, n: i64) {
        match status {
            FulfilmentStatus::Unfulfilled => self.unfulfilled += n,
            FulfilmentStatus::Shipped => self.shipped += n,
            FulfilmentStatus::Delivered => self.delivered += n,
            FulfilmentStatus::NotApplicable => self.not_applicable += n,
        }
    }
}

/// A campaign's figures (owner and admins).
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = CampaignStats),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not the campaign's creator or an admin"),
        (status = 404, description = "No such campaign"),
    )
)]
#[get("/campaigns/{id}/stats")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn stats(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let response = state
        .db
        .run(move |conn| {
            let campaign = access::owned_or_admin(campaigns::find(conn, id)?, &user)?;
            let currency = campaign.currency;
            let money = |minor| Money::from_minor(minor, currency).to_decimal_string();
            let totals = campaign_stats::by_tier(conn, campaign.id)?;
            let total_of = |tier: Option<TierId>| {
                totals
                    .iter()
                    .find(|t| t.tier_id == tier)
                    .map_or((0, 0), |t| (t.pledges, t.amount_minor))
            };
            let mut tier_stats: Vec<TierStats> = tiers::for_campaign(conn, campaign.id)?
                .into_iter()
                .map(|tier| {
                    let (backers, amount) = total_of(Some(tier.id));
                    TierStats {
                        tier_id: Some(tier.id.0),
                        title: Some(tier.title),
                        backers,
                        amount: money(amount),
                    }
                })
                .collect();
            let (backers, amount) = total_of(None);
            tier_stats.push(TierStats {
                tier_id: None,
                title: None,
                backers,
                amount: money(amount),
            });
            let per_day = campaign_stats::by_day(conn, campaign.id)?
                .into_iter()
                .map(|d| DayStats {
                    date: d.day,
                    pledges: d.pledges,
                    amount: money(d.amount_minor),
                })
                .collect();
            let sent = surveys::find(conn, campaign.id)?.is_some_and(|s| s.sent_at.is_some());
            let survey = if sent {
                let (invited, answered) = surveys::response_counts(conn, campaign.id)?;
                let rate = if invited > 0 { answered * 100 / invited } else { 0 };
                Some(SurveyStats {
                    invited,
                    answered,
                    response_rate_percent: rate,
                })
            } else {
                None
            };
            let mut fulfilment = FulfilmentStats::default();
            let (shipping, digital) = fulfilment::fulfilment_counts(conn, campaign.id)?;
            for (status, n) in shipping {
                fulfilment.count(status, n);
            }
            fulfilment.count(FulfilmentStatus::NotApplicable, digital);
            let names: Vec<_> = referrals::for_campaign(conn, campaign.id)?;
            let by_referral = referrals::totals(conn, campaign.id)?
                .into_iter()
                .map(|t| ReferralStats {
                    name: names
                        .iter()
                        .find(|tag| t.referral.as_deref() == Some(&tag.code))
                        .map(|tag| tag.name.clone()),
                    referral: t.referral,
                    pledges: t.pledges,
                    amount: money(t.amount_minor),
                    collected: money(t.collected_minor),
                })
                .collect();
            let late_totals = settlement::totals_by_status(conn, campaign.id, true)?;
            let count = |statuses: &[PledgeStatus]| {
                late_totals
                    .iter()
                    .filter(|t| statuses.contains(&t.status))
                    .fold((0, 0), |(n, sum), t| (n + t.pledges, sum + t.amount_minor))
            };
            let (collected, collected_minor) = count(&[PledgeStatus::Collected, PledgeStatus::Refunded]);
            let late = LateStats {
                collected,
                collected_amount: money(collected_minor),
                pending: count(&[PledgeStatus::Active]).0,
                declined: count(&[PledgeStatus::Dropped]).0,
            };
            Ok::<_, CoreError>(CampaignStats {
                late,
                campaign_id: campaign.id.0,
                currency,
                goal: campaign.goal_minor.map(money),
                pledged: money(campaign.pledged_minor),
                backer_count: campaign.backer_count,
                percent_funded: funded_bps(campaign.pledged_minor, campaign.goal_minor) / 100,
                tiers: tier_stats,
                per_day,
                survey,
                fulfilment,
                by_referral,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
