use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use futures_util::StreamExt;

use crate::campaigns::access;
use crate::db::campaigns;
use crate::domain::{CampaignId, CoreError};
use crate::fulfilment::import::{self, ImportReport};
use crate::http::{ApiError, AppState, AuthUser};

/// Bytes one import may carry: some 10 000 rows of an export with a few survey columns.
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Applies a CSV (`Content-Type: text/csv`) of `pledge_id,fulfilment_status,carrier,
/// tracking_number` to the campaign's pledges (creator only); other columns are ignored, so
/// the export can be edited and sent back. Each row is applied whole or refused, and the
/// answer reports every row.
#[utoipa::path(
    tag = "fulfilment",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    request_body(content = String, content_type = "text/csv",
        example = "pledge_id,fulfilment_status,carrier,tracking_number\r\n17,shipped,La Poste,6A12345678901\r\n"),
    responses(
        (status = 200, body = ImportReport, description = "What each row did"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 413, description = "Over 8 MiB"),
        (status = 415, description = "Not text/csv"),
        (status = 422, description = "Not CSV, a required column is missing, or over 10 000 rows"),
    )
)]
#[post("/campaigns/{id}/fulfilment/import")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn import_fulfilment(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    state
        .db
        .run(move |conn| Ok::<_, CoreError>(access::owned_by(campaigns::find(conn, id)?, &user).map(drop)?))
        .await?;
    let is_csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "text/csv");
    if !is_csv {
        return Err(ApiError::UnsupportedMediaType("send the file as text/csv".into()));
    }
    let mut file = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
        if file.len() + chunk.len() > MAX_BYTES {
            return Err(ApiError::ContentTooLarge(format!(
                "an import is at most {} MiB: split it",
                MAX_BYTES / 1024 / 1024
            )));
        }
        file.extend_from_slice(&chunk);
    }
    let now = state.clock.now();
    let report = state
        .db
        .write(move |conn| import::import(conn, id, &user, &file, now))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
