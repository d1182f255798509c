use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::community::share;
use crate::domain::CoreError;
use crate::http::{ApiError, AppState};

/// A campaign's share page, for link previews: an HTML page with Open Graph and Twitter Card
/// tags that sends browsers on to `{APP_BASE_URL}/campaigns/{slug}` (with `?ref=` carried
/// along). A CDN may keep it for a minute. Other query parameters (`utm_*`, ...) are ignored.
#[utoipa::path(
    tag = "campaigns",
    params(
        ("slug" = String, Path, description = "Campaign slug"),
        ("ref" = Option<String>, Query, description = "A referral code or channel, passed on to the campaign's page"),
    ),
    responses(
        (status = 200, description = "The share page", content_type = "text/html", body = String),
        (status = 404, description = "No launched campaign has this slug", content_type = "text/html", body = String),
    )
)]
#[get("/c/{slug}")]
#[tracing::instrument(skip_all, fields(campaign.slug = %path))]
pub async fn share_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = path.into_inner();
    let raw_ref = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .ok()
        .and_then(|q| {
            q.into_inner()
                .into_iter()
                .find(|(k, _)| k == "ref")
                .map(|(_, v)| v)
        });
    let links = state.media.links.clone();
    let base_url = state.settings.mail.app_base_url.clone();
    let now = state.clock.now();
    let page = state
        .db
        .run(move |conn| {
            let found = share::share(conn, &links, &base_url, &slug, raw_ref.as_deref(), now)?;
            found.as_ref().map(share::render).transpose()
        })
        .await
        .map_err(|e: CoreError| ApiError::from(e))?;
    let mut answer = match &page {
        Some(_) => HttpResponse::Ok(),
        None => HttpResponse::NotFound(),
    };
    let body = match page {
        Some(html) => html,
        None => share::render_not_found()?,
    };
    Ok(answer
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .body(body))
}
