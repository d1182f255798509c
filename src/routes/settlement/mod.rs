//! `/api/v1/settlement/run`: the cron entry point.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa::IntoParams;

use crate::domain::CoreError;
use crate::http::{ApiError, AppState, Query};
use crate::settlement::Summary;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Report what a pass would do, changing nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// `Authorization: Bearer $CRON_SECRET`, compared in constant time.
fn check_cron_secret(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(presented.as_bytes().ct_eq(state.settings.cron_secret.expose())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "the cron secret is missing or wrong".into(),
        ))
    }
}

/// Runs one settlement pass: closes campaigns past their deadline, charges and retries
/// pledges, drops those failing for 7 days, completes campaigns. Safe to call at any time,
/// concurrently, or again after a crash; calls to one instance take turns (a second waits for
/// the first to finish), calls to different instances run side by side. `more: true` means
/// call again.
#[utoipa::path(
    tag = "settlement",
    security(("cron_secret" = [])),
    params(RunQuery),
    responses(
        (status = 200, body = Summary),
        (status = 401, description = "Missing or wrong cron secret"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[post("/settlement/run")]
#[tracing::instrument(skip_all)]
pub async fn run(
    state: web::Data<AppState>,
    req: HttpRequest,
    Query(query): Query<RunQuery>,
) -> Result<HttpResponse, ApiError> {
    check_cron_secret(&req, &state)?;
    let _turn = state.settlement_turn.lock().await;
    let settlement = state.settlement();
    let summary = tokio::task::spawn_blocking(move || {
        if query.dry_run {
            settlement.dry_run()
        } else {
            settlement.run()
        }
    })
    .await
    .map_err(|e| CoreError::Unexpected(e.into()))??;
    tracing::info!(?summary, "settlement pass");
    Ok(HttpResponse::Ok().json(summary))
}
