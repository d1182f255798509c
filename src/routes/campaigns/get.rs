use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};

use super::view::{CampaignResponse, CampaignSummary, TierResponse, currency_of};
use crate::auth::MaybeAuthUser;
use crate::campaigns::access;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::{DbConn, tiers};
use crate::error::ApiError;
use crate::state::AppState;

/// The campaign page: summary, description and tiers.
pub fn full_view(
    conn: &mut DbConn,
    row: CampaignRow,
    owner_name: String,
    now: DateTime<Utc>,
) -> Result<CampaignResponse, ApiError> {
    let currency = currency_of(&row)?;
    let tiers = tiers::for_campaign(conn, row.id)?
        .iter()
        .map(|tier| TierResponse::new(tier, currency, now))
        .collect::<Result<_, _>>()?;
    Ok(CampaignResponse {
        summary: CampaignSummary::new(&row, owner_name, now)?,
        description: row.description,
        tiers,
    })
}

/// Finds a campaign by numeric id or by slug.
pub fn find_by_id_or_slug(conn: &mut DbConn, id_or_slug: &str) -> Result<Option<CampaignRow>, ApiError> {
    Ok(match id_or_slug.parse::<i64>() {
        Ok(id) => campaigns::find(conn, id)?,
        Err(_) => campaigns::find_by_slug(conn, id_or_slug)?,
    })
}

/// A campaign by id or slug. Drafts are visible only to their owner and admins.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id or slug")),
    responses(
        (status = 200, body = CampaignResponse),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours"),
    )
)]
#[get("/campaigns/{id}")]
#[tracing::instrument(skip_all, fields(campaign = %path))]
pub async fn get(
    state: web::Data<AppState>,
    viewer: MaybeAuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let id_or_slug = path.into_inner();
    let response = state
        .db
        .run(move |conn| {
            let row = access::visible(find_by_id_or_slug(conn, &id_or_slug)?, viewer.0.as_ref())?;
            let owner = campaigns::owner_name(conn, row.owner_id)?;
            full_view(conn, row, owner, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
