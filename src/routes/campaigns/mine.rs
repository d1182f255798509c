use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::view::{CampaignPage, CampaignSummary};
use crate::db::{campaign_list, users};
use crate::domain::{CampaignId, CampaignStatus, CoreError};
use crate::http::{ApiError, AppState, AuthUser, Query, cursor};
use crate::routes::campaigns::view::pick;
use crate::shapes::image;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    /// Only campaigns in this status.
    pub status: Option<CampaignStatus>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's own campaigns, drafts included, newest first.
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(MineQuery),
    responses(
        (status = 200, body = CampaignPage),
        (status = 401, description = "Missing or invalid access token"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/me/campaigns")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn mine(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<MineQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = cursor::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("mine", c))
        .transpose()?
        .map(|(_, id)| CampaignId(id));
    let now = state.clock.now();
    let links = state.media.links.clone();
    let (rows, owner, covers) = state
        .db
        .run(move |conn| {
            let rows = campaign_list::owned(conn, user.id, query.status, after, limit + 1)?;
            let owner = users::find(conn, user.id)?
                .map(|u| u.display_name)
                .unwrap_or_default();
            let covers = image::by_id(conn, rows.iter().filter_map(|r| r.cover_image_id), &links)?;
            Ok::<_, CoreError>((rows, owner, covers))
        })
        .await?;
    let has_more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = rows
        .last()
        .filter(|_| has_more)
        .map(|row| cursor::encode("mine", 0, row.id.0));
    let items = rows
        .iter()
        .map(|row| CampaignSummary::new(row, owner.clone(), pick(&covers, row.cover_image_id), now))
        .collect();
    Ok(HttpResponse::Ok().json(CampaignPage { items, next_cursor }))
}
