use actix_web::{HttpResponse, get, web};

use crate::domain::FieldError;
use crate::http::{ApiError, AppState, AuthUser};
use crate::ledger::verify::AuditReport;

/// Verifies the ledger (admins only): every transaction balances, each closed campaign's
/// collected total equals its collected pledges, completed campaigns' escrow is zero, and no
/// creator's account is below zero (refunds past the payout).
/// 200 with the report when it holds; 409 problem+json listing each finding when it does not.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditReport),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 409, description = "The ledger does not hold; `errors` lists each finding"),
    )
)]
#[get("/admin/ledger/verify")]
#[tracing::instrument(skip_all)]
pub async fn verify_ledger(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
) -> Result<HttpResponse, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden("only admins can audit the ledger".into()));
    }
    let report = state.db.run(crate::ledger::verify::run).await?;
    if report.ok {
        return Ok(HttpResponse::Ok().json(report));
    }
    let mut problem = ApiError::Conflict(format!(
        "the ledger does not hold ({} transactions checked)",
        report.transactions_checked
    ))
    .problem();
    let findings = [
        ("unbalanced_transactions", &report.unbalanced_transactions),
        ("collected_mismatches", &report.collected_mismatches),
        ("escrow_not_empty", &report.escrow_not_empty),
        ("negative_creator_balances", &report.negative_creator_balances),
    ];
    for (kind, list) in findings {
        problem
            .errors
            .extend(list.iter().map(|finding| FieldError::new(kind, finding.clone())));
    }
    tracing::error!(findings = problem.errors.len(), "ledger verification failed");
    Ok(HttpResponse::Conflict()
        .content_type("application/problem+json")
        .json(problem))
}
