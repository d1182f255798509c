//! The creator's fulfilment view of a campaign's pledges: JSON pages, or the whole list as CSV
//! (`Accept: text/csv`), streamed a page at a time so that memory stays flat however many
//! pledges there are.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::view::PledgeResponse;
use crate::campaigns::access;
use crate::db::{Db, campaigns};
use crate::domain::{CampaignId, CoreError, PledgeId};
use crate::fulfilment::export::{self, CsvSheet, Filter};
use crate::http::{ApiError, AppState, AuthUser, Query, cursor};
use crate::surveys;

/// Rows fetched per database round trip while streaming CSV.
const CSV_PAGE: i64 = 1_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FulfilmentQuery {
    /// 1–100, default 20 (JSON only).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (JSON only).
    pub cursor: Option<String>,
    /// A pledge status, or `all`. Default: `collected` for the CSV (the pledges to fulfil),
    /// `all` for JSON.
    #[param(example = "collected")]
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Backer {
    pub id: i64,
    pub display_name: String,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfilmentItem {
    pub pledge: PledgeResponse,
    pub backer: Backer,
    pub tier_title: Option<String>,
    /// The survey's answers, keyed by question id; null when not answered (or erased).
    #[schema(value_type = Option<Object>)]
    pub survey_answers: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfilmentPage {
    pub items: Vec<FulfilmentItem>,
    pub next_cursor: Option<String>,
}

/// A campaign's pledges in the order they were made (owner and admins), with fulfilment and
/// survey answers. With `Accept: text/csv`: every pledge of the filter as CSV — pledge_id,
/// backer_name, backer_email, tier, amount, currency, shipping_country, status, pledged_at,
/// fulfilment_status, carrier, tracking_number, then a column per survey question (an
/// address as `{id}.name`, `{id}.line1`, … `{id}.phone`) — ignoring `limit` and `cursor`.
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id"), FulfilmentQuery),
    responses(
        (status = 200, description = "A page of pledges, or the CSV export", content(
            (FulfilmentPage = "application/json"),
            (String = "text/csv"),
        )),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not the campaign's creator or an admin"),
        (status = 404, description = "No such campaign"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/campaigns/{id}/pledges")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Query(query): Query<FulfilmentQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let wants_csv = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    let default = if wants_csv {
        Filter::Status(crate::domain::PledgeStatus::Collected)
    } else {
        Filter::All
    };
    let filter = Filter::parse(query.status.as_deref(), default).map_err(|m| ApiError::field("status", m))?;
    let (campaign, survey, addons) = state
        .db
        .run(move |conn| {
            let campaign = access::owned_or_admin(campaigns::find(conn, id)?, &user)?;
            let survey = surveys::find(conn, campaign.id)?;
            let addons = crate::db::addons::for_campaign(conn, campaign.id)?;
            Ok::<_, CoreError>((campaign, survey, addons))
        })
        .await?;
    let currency = campaign.currency;
    if wants_csv {
        let sheet = Arc::new(CsvSheet::new(survey, currency, &addons));
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"campaign-{id}-pledges.csv\""),
            ))
            .streaming(csv_stream(state.db.clone(), id, filter, sheet)));
    }
    let limit = cursor::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("fulfilment", c))
        .transpose()?
        .map(|(_, id)| PledgeId(id));
    let rows = state
        .db
        .run(move |conn| export::page(conn, id, filter, after, limit + 1))
        .await?;
    let has_more = rows.len() as i64 > limit;
    let items = rows
        .into_iter()
        .take(limit as usize)
        .map(|(row, answers)| FulfilmentItem {
            pledge: PledgeResponse::new(&row.pledge, currency, false),
            backer: Backer {
                id: row.pledge.backer_id.0,
                display_name: row.backer_name,
                email: row.backer_email,
            },
            tier_title: row.tier_title,
            survey_answers: answers,
        })
        .collect::<Vec<_>>();
    let next_cursor = items
        .last()
        .filter(|_| has_more)
        .map(|item| cursor::encode("fulfilment", 0, item.pledge.id));
    Ok(HttpResponse::Ok().json(FulfilmentPage { items, next_cursor }))
}

fn csv_stream(
    db: Db,
    campaign_id: CampaignId,
    filter: Filter,
    sheet: Arc<CsvSheet>,
) -> impl futures_util::Stream<Item = Result<Bytes, ApiError>> {
    let header = Bytes::from(sheet.header());
    let rows = stream::unfold(Some(None), move |after: Option<Option<PledgeId>>| {
        let db = db.clone();
        let sheet = sheet.clone();
        async move {
            let after = after?;
            let page = db
                .run(move |conn| Ok::<_, ApiError>(export::page(conn, campaign_id, filter, after, CSV_PAGE)?))
                .await;
            match page {
                Err(e) => Some((Err(e), None)),
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = rows.last().map(|(r, _)| r.pledge.id);
                    let done = (rows.len() as i64) < CSV_PAGE;
                    match sheet.rows(&rows) {
                        Ok(bytes) => Some((Ok(Bytes::from(bytes)), (!done).then_some(next))),
                        Err(e) => Some((Err(e.into()), None)),
                    }
                }
            }
        }
    });
    stream::once(async move { Ok(header) }).chain(rows)
}
