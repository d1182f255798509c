use actix_web::{HttpResponse, get, web};

use crate::domain::CoreError;
use crate::http::{ApiError, AppState};

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let outbox = state
        .db
        .run(|conn| Ok::<_, CoreError>(crate::db::outbox::counts_by_status(conn)?))
        .await?;
    let body = state.metrics.render(&state.db, &outbox)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
