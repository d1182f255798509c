use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::FieldError;
use crate::http::{ApiError, AppState, AuthUser, Query};
use crate::ledger::reconcile::{self, Reconciliation};
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationQuery {
    /// Only charges made from then on: a date (`2026-12-01`, from its midnight UTC) or an RFC
    /// 3339 instant; all without it.
    #[param(example = "2026-12-01")]
    pub since: Option<String>,
}

/// Compares the payment provider's records with the books (admins only): every charge the
/// provider made under one of our keys, and what it refunded of each, against the charge
/// attempts and the ledger. 200 with the report when they agree; 409 problem+json listing each
/// difference (its `field` is the kind, its `message` names the ids) when they do not.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(ReconciliationQuery),
    responses(
        (status = 200, body = Reconciliation),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 409, description = "The provider and the books differ; `errors` lists each difference"),
        (status = 422, description = "`since` is not a date or an instant, or an unknown query parameter"),
        (status = 503, description = "The payment provider could not be read; retry"),
    )
)]
#[get("/admin/reconciliation")]
#[tracing::instrument(skip_all)]
pub async fn reconciliation(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<ReconciliationQuery>,
) -> Result<HttpResponse, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden("only admins can reconcile the books".into()));
    }
    let since = query
        .since
        .as_deref()
        .map(reconcile::parse_since)
        .transpose()
        .map_err(|m| ApiError::field("since", m))?;
    let (db, provider) = (state.db.clone(), state.payments.clone());
    let report = tokio::task::spawn_blocking(move || reconcile::run(&db, provider.as_ref(), since))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    if report.ok {
        return Ok(HttpResponse::Ok().json(report));
    }
    let mut problem = ApiError::Conflict(format!(
        "the provider's records and the books differ ({} charges checked)",
        report.charges_checked
    ))
    .problem();
    problem.errors.extend(report.differences.iter().map(|d| {
        let kind = serde_json::to_value(d.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let ids = format!(
            "{} (pledge {}, provider {})",
            d.idempotency_key,
            d.pledge_id.map_or("-".to_owned(), |p| p.to_string()),
            d.provider_id.as_deref().unwrap_or("-")
        );
        FieldError::new(kind, format!("{ids}: {}", d.detail))
    }));
    tracing::error!(
        differences = problem.errors.len(),
        "reconciliation found differences"
    );
    Ok(HttpResponse::Conflict()
        .content_type("application/problem+json")
        .json(problem))
}
