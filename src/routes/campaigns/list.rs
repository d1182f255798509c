use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::view::{CampaignPage, CampaignSummary};
use crate::db::campaign_list::{self, After, PublicFilter, Sort};
use crate::domain::{CampaignId, CampaignStatus, Category, CoreError};
use crate::http::{ApiError, AppState, Query, cursor};
use crate::routes::campaigns::view::pick;
use crate::shapes::image;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortParam {
    /// Most recently launched first.
    Newest,
    /// Nearest deadline first.
    EndingSoon,
    /// Highest percentage of the goal first (comparable across currencies). While campaigns
    /// are live, by totals refreshed in steps of 1 %.
    MostFunded,
    /// Most backers first. While campaigns are live, by counts refreshed in steps of 1 %.
    MostBacked,
}

impl SortParam {
    fn sort(self) -> Sort {
        match self {
            Self::Newest => Sort::Newest,
            Self::EndingSoon => Sort::EndingSoon,
            Self::MostFunded => Sort::MostFunded,
            Self::MostBacked => Sort::MostBacked,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::EndingSoon => "ending_soon",
            Self::MostFunded => "most_funded",
            Self::MostBacked => "most_backed",
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Which campaigns (default `live`); drafts are never listed here.
    pub status: Option<CampaignStatus>,
    pub category: Option<Category>,
    /// Case-insensitive text searched in title and blurb (up to 100 characters).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Default `newest`.
    pub sort: Option<SortParam>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Public campaigns, filtered, sorted and paginated by cursor.
#[utoipa::path(
    tag = "campaigns",
    params(ListQuery),
    responses(
        (status = 200, body = CampaignPage),
        (status = 422, description = "A query parameter is invalid; `errors` names it"),
    )
)]
#[get("/campaigns")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = query.status.unwrap_or(CampaignStatus::Live);
    if status == CampaignStatus::Draft {
        return Err(ApiError::field(
            "status",
            "drafts are not listed publicly; see /api/v1/me/campaigns",
        ));
    }
    let text = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(ToOwned::to_owned);
    if text.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::field("q", "must be at most 100 characters"));
    }
    let sort = query.sort.unwrap_or(SortParam::Newest);
    let limit = cursor::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode(sort.name(), c))
        .transpose()?
        .map(|(key, id)| After {
            key,
            id: CampaignId(id),
        });
    let now = state.clock.now();
    let links = state.media.links.clone();
    let (rows, covers) = state
        .db
        .run(move |conn| {
            let rows = campaign_list::public(
                conn,
                &PublicFilter {
                    status,
                    category: query.category,
                    text: text.as_deref(),
                    sort: sort.sort(),
                    after,
                    limit: limit + 1,
                },
            )?;
            let covers = image::by_id(conn, rows.iter().filter_map(|(r, _)| r.cover_image_id), &links)?;
            Ok::<_, CoreError>((rows, covers))
        })
        .await?;
    let has_more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = rows
        .last()
        .filter(|_| has_more)
        .map(|(row, _)| cursor::encode(sort.name(), campaign_list::sort_key(row, sort.sort()), row.id.0));
    let items = rows
        .iter()
        .map(|(row, owner)| CampaignSummary::new(row, owner.clone(), pick(&covers, row.cover_image_id), now))
        .collect();
    Ok(HttpResponse::Ok().json(CampaignPage { items, next_cursor }))
}
