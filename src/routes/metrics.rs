use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::domain::CoreError;
use crate::http::metrics::Metrics;
use crate::http::{ApiError, AppState};

/// Prometheus metrics in the text exposition format. Open to anyone unless `METRICS_TOKEN`
/// is set; then only `Authorization: Bearer $METRICS_TOKEN`.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not carry it"),
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !Metrics::may_read(state.settings.metrics_token.as_ref(), authorization) {
        return Err(ApiError::Unauthorized(
            "the metrics token is missing or wrong".into(),
        ));
    }
    let outbox = state
        .db
        .run(|conn| Ok::<_, CoreError>(crate::db::outbox::counts_by_status(conn)?))
        .await?;
    let body = state
        .metrics
        .render(&state.db, &outbox, state.group_commit.grouped())?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
