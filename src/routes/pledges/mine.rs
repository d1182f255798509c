use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::view::{PledgePage, PledgeResponse};
use crate::db::{campaigns, pledges};
use crate::domain::{CoreError, PledgeId, Refusal};
use crate::http::{ApiError, AppState, AuthUser, Query, cursor};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's pledges, newest first, whatever their status.
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = PledgePage),
        (status = 401, description = "Missing or invalid access token"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/me/pledges")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn mine(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = cursor::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("my_pledges", c))
        .transpose()?
        .map(|(_, id)| PledgeId(id));
    let page = state
        .db
        .run(move |conn| {
            let rows = pledges::for_backer(conn, user.id, after, limit + 1)?;
            let has_more = rows.len() as i64 > limit;
            let mut items = Vec::new();
            for pledge in rows.iter().take(limit as usize) {
                let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(Refusal::NotFound)?;
                items.push(PledgeResponse::new(pledge, campaign.currency, true));
            }
            let next_cursor = items
                .last()
                .filter(|_| has_more)
                .map(|p: &PledgeResponse| cursor::encode("my_pledges", 0, p.id));
            Ok::<_, CoreError>(PledgePage { items, next_cursor })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
