//! The creator's fulfilment view of a campaign's pledges: JSON pages, or the whole list as CSV
//! (`Accept: text/csv`), streamed a page at a time so that memory stays flat however many
//! pledges there are.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use utoipa::ToSchema;

use super::mine::PageQuery;
use super::view::PledgeResponse;
use crate::campaigns::access;
use crate::db::fulfilment::{self, FulfilmentRow};
use crate::db::{Db, campaigns};
use crate::domain::{CampaignId, CoreError, Currency, Money, PledgeId};
use crate::http::{ApiError, AppState, AuthUser, Query, cursor};

/// Rows fetched per database round trip while streaming CSV.
const CSV_PAGE: i64 = 1_000;

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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfilmentPage {
    pub items: Vec<FulfilmentItem>,
    pub next_cursor: Option<String>,
}

/// A campaign's pledges in the order they were made (owner and admins). With
/// `Accept: text/csv`: every pledge as CSV (pledge_id, backer_name, backer_email, tier, amount,
/// currency, shipping_country, status, pledged_at), ignoring `limit` and `cursor`.
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id"), PageQuery),
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
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let campaign = state
        .db
        .run(move |conn| Ok::<_, CoreError>(access::owned_or_admin(campaigns::find(conn, id)?, &user)?))
        .await?;
    let currency = campaign.currency;
    let wants_csv = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    if wants_csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"campaign-{id}-pledges.csv\""),
            ))
            .streaming(csv_stream(state.db.clone(), id, currency)));
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
        .run(move |conn| Ok::<_, CoreError>(fulfilment::for_campaign(conn, id, after, limit + 1)?))
        .await?;
    let has_more = rows.len() as i64 > limit;
    let items = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| FulfilmentItem {
            pledge: PledgeResponse::new(&row.pledge, currency, false),
            backer: Backer {
                id: row.pledge.backer_id.0,
                display_name: row.backer_name,
                email: row.backer_email,
            },
            tier_title: row.tier_title,
        })
        .collect::<Vec<_>>();
    let next_cursor = items
        .last()
        .filter(|_| has_more)
        .map(|item| cursor::encode("fulfilment", 0, item.pledge.id));
    Ok(HttpResponse::Ok().json(FulfilmentPage { items, next_cursor }))
}

const CSV_HEADER: &str =
    "pledge_id,backer_name,backer_email,tier,amount,currency,shipping_country,status,pledged_at\r\n";

fn csv_stream(
    db: Db,
    campaign_id: CampaignId,
    currency: Currency,
) -> impl futures_util::Stream<Item = Result<Bytes, ApiError>> {
    let rows = stream::unfold(Some(None), move |after: Option<Option<PledgeId>>| {
        let db = db.clone();
        async move {
            let after = after?;
            let page = db
                .run(move |conn| {
                    Ok::<_, ApiError>(fulfilment::for_campaign(conn, campaign_id, after, CSV_PAGE)?)
                })
                .await;
            match page {
                Err(e) => Some((Err(e), None)),
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = rows.last().map(|r| r.pledge.id);
                    let done = (rows.len() as i64) < CSV_PAGE;
                    let mut chunk = String::new();
                    for row in &rows {
                        csv_line(&mut chunk, row, currency);
                    }
                    Some((Ok(Bytes::from(chunk)), (!done).then_some(next)))
                }
            }
        }
    });
    stream::once(async { Ok(Bytes::from_static(CSV_HEADER.as_bytes())) }).chain(rows)
}

fn csv_line(out: &mut String, row: &FulfilmentRow, currency: Currency) {
    let pledge = &row.pledge;
    let fields = [
        pledge.id.to_string(),
        row.backer_name.clone(),
        row.backer_email.clone(),
        row.tier_title.clone().unwrap_or_default(),
        Money::from_minor(pledge.amount_minor, currency).to_decimal_string(),
        currency.code().to_owned(),
        pledge.shipping_country.clone().unwrap_or_default(),
        pledge.status.as_str().to_owned(),
        pledge
            .created_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ];
    let escaped: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&escaped.join(","));
    out.push_str("\r\n");
}

/// RFC 4180 quoting, and a leading `'` before `= + - @` so that spreadsheet programs do not
/// run a backer-chosen name as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn quotes_and_defuses() {
        assert_eq!(csv_field("Ana"), "Ana");
        assert_eq!(csv_field("López, Ana"), "\"López, Ana\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
