use actix_web::{HttpResponse, get, web};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::error::ApiError;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the status is 200.
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness: the process is up and answering.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers a query.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "The database is unreachable"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .db
        .run(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| ApiError::Unavailable(format!("database check failed: {e}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}
