use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::view::{CampaignResponse, Viewer, full_view};
use crate::campaigns::edit::{self, Draft};
use crate::domain::{Category, Currency, FundingModel};
use crate::http::{ApiError, AppState, AuthUser, Json, idempotency};

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
    /// `all_or_nothing` (the default): backers are charged only if the goal is reached at the
    /// deadline. `flexible`: they are charged whatever the total. Changeable until launch.
    pub funding_model: Option<FundingModel>,
}

impl CreateCampaignRequest {
    fn input(&self) -> edit::Input<'_> {
        edit::Input {
            title: Some(&self.title),
            slug: self.slug.as_deref(),
            blurb: self.blurb.as_deref(),
            description: self.description.as_deref(),
            category: self.category,
            currency: Some(self.currency),
            goal: self.goal.as_deref(),
            duration_days: self.duration_days,
            cover_image_id: None,
            prelaunch: None,
            funding_model: self.funding_model,
            late: Default::default(),
        }
    }
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
    AuthUser(user): AuthUser,
    Json(body): Json<CreateCampaignRequest>,
) -> Result<HttpResponse, ApiError> {
    let draft = Draft::parse(&body.input())?;
    let now = state.clock.now();
    let links = state.media.links.clone();
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let row = edit::create(conn, &user, &draft, now)?;
        let location = format!("/api/v1/campaigns/{}", row.id);
        Ok((full_view(conn, &links, row, Viewer::Manager, now)?, location))
    })
    .await
}
