use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::view::CampaignResponse;
use crate::auth::AuthUser;
use crate::campaigns::lifecycle;
use crate::db::campaigns::{self, NewCampaign};
use crate::domain::campaign as fields;
use crate::domain::{Category, Currency};
use crate::error::{ApiError, FieldErrors};
use crate::http::{Json, idempotency};
use crate::state::AppState;

/// A new draft. Only `title` and `currency` are needed now; launching needs the rest.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaignRequest {
    /// 3–120 characters.
    #[schema(example = "Solar bike lamp")]
    pub title: String,
    pub currency: Currency,
    /// URL name; derived from the title when absent. Changeable until launch.
    #[schema(example = "solar-bike-lamp")]
    pub slug: Option<String>,
    /// Up to 300 characters.
    pub blurb: Option<String>,
    /// Up to 50 000 characters.
    pub description: Option<String>,
    pub category: Option<Category>,
    /// Decimal string: at least 1, at most 100 000 000 major units.
    #[schema(example = "10000.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub goal: Option<String>,
    /// 1–60.
    #[schema(example = 30, minimum = 1, maximum = 60)]
    pub duration_days: Option<i64>,
}

/// Fields of a campaign draft, each validated, with every error collected.
pub struct DraftFields {
    pub title: String,
    pub slug: Option<String>,
    pub blurb: Option<String>,
    pub description: Option<String>,
    pub goal_minor: Option<i64>,
    pub duration_days: Option<i32>,
}

/// Validates the fields shared by create and update; `title` may be absent on update.
pub fn validate(
    title: Option<&str>,
    slug: Option<&str>,
    blurb: Option<&str>,
    description: Option<&str>,
    goal: Option<&str>,
    duration_days: Option<i64>,
    currency: Currency,
) -> Result<DraftFields, ApiError> {
    let mut errors = FieldErrors::default();
    let fields = DraftFields {
        title: title
            .and_then(|t| errors.check("title", fields::title(t)))
            .unwrap_or_default(),
        slug: slug.and_then(|s| errors.check("slug", fields::slug(s))),
        blurb: blurb.and_then(|b| errors.check("blurb", fields::blurb(b))),
        description: description.and_then(|d| errors.check("description", fields::description(d))),
        goal_minor: goal.and_then(|g| errors.check("goal", fields::goal(g, currency).map(|m| m.minor()))),
        duration_days: duration_days.and_then(|d| errors.check("duration_days", fields::duration_days(d))),
    };
    errors.finish()?;
    Ok(fields)
}

/// Creates a draft campaign owned by the caller. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer")),
    request_body = CreateCampaignRequest,
    responses(
        (status = 201, body = CampaignResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 409, description = "The slug is taken, or the same Idempotency-Key is still being processed"),
        (status = 422, description = "A field is invalid, or the Idempotency-Key was used with another body"),
    )
)]
#[post("/campaigns")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    Json(body): Json<CreateCampaignRequest>,
) -> Result<HttpResponse, ApiError> {
    let fields = validate(
        Some(&body.title),
        body.slug.as_deref(),
        body.blurb.as_deref(),
        body.description.as_deref(),
        body.goal.as_deref(),
        body.duration_days,
        body.currency,
    )?;
    let now = state.clock.now();
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let slug = match fields.slug {
            Some(slug) if campaigns::slug_taken(conn, &slug)? => {
                return Err(ApiError::Conflict(format!("the slug {slug:?} is taken")));
            }
            Some(slug) => slug,
            None => free_slug(conn, &fields::slugify(&fields.title))?,
        };
        let row = campaigns::insert(
            conn,
            &NewCampaign {
                owner_id: user.id.0,
                slug: &slug,
                title: &fields.title,
                blurb: fields.blurb.as_deref().unwrap_or_default(),
                description: fields.description.as_deref().unwrap_or_default(),
                category: body.category.map(Category::as_str),
                currency: body.currency.code(),
                goal_minor: fields.goal_minor,
                duration_days: fields.duration_days,
                created_at: now.naive_utc(),
                updated_at: now.naive_utc(),
            },
        )?;
        lifecycle::record_created(conn, &row, user.id, now)?;
        let owner = campaigns::owner_name(conn, row.owner_id)?;
        let location = format!("/api/v1/campaigns/{}", row.id);
        Ok((super::get::full_view(conn, row, owner, now)?, location))
    })
    .await
}

/// `base`, or `base-2`, `base-3`, ... whichever is free first.
fn free_slug(conn: &mut crate::db::DbConn, base: &str) -> Result<String, ApiError> {
    if !campaigns::slug_taken(conn, base)? {
        return Ok(base.to_owned());
    }
    for n in 2..100 {
        let candidate = format!("{base}-{n}");
        if !campaigns::slug_taken(conn, &candidate)? {
            return Ok(candidate);
        }
    }
    let suffix: u32 = rand::random();
    Ok(format!("{base}-{suffix:08x}"))
}
