use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::view::{CampaignPage, CampaignSummary};
use crate::db::campaign_list::{self, After, PublicFilter, Sort};
use crate::domain::search::SearchQuery;
use crate::domain::{CampaignId, CampaignStatus, Category, CoreError};
use crate::http::cache::{self, Tagged};
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
    /// Best match for `q` first, a match in the title weighing more than one in the blurb;
    /// only with `q`, where it is the default.
    Relevance,
}

impl SortParam {
    fn sort(self) -> Sort {
        match self {
            Self::Newest => Sort::Newest,
            Self::EndingSoon => Sort::EndingSoon,
            Self::MostFunded => Sort::MostFunded,
            Self::MostBacked => Sort::MostBacked,
            Self::Relevance => Sort::Relevance,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::EndingSoon => "ending_soon",
            Self::MostFunded => "most_funded",
            Self::MostBacked => "most_backed",
            Self::Relevance => "relevance",
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
    /// Words searched in title and blurb (up to 100 characters): every word must appear,
    /// the last one as the beginning of a word; case is ignored and accents are not. Words are
    /// runs of letters and digits, so punctuation (`%` and `_` included) only separates them,
    /// and a `q` without any finds nothing.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Default `relevance` with `q`, `newest` without.
    pub sort: Option<SortParam>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Public campaigns, filtered, sorted and paginated by cursor. Without credentials, with a
/// strong `ETag` and `Cache-Control` as a campaign's view has (304 on `If-None-Match`).
#[utoipa::path(
    tag = "campaigns",
    params(ListQuery),
    responses(
        (status = 200, body = CampaignPage),
        (status = 304, description = "Without credentials: `If-None-Match` names the current `ETag`"),
        (status = 422, description = "A query parameter is invalid; `errors` names it"),
    )
)]
#[get("/campaigns")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
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
    let sort = match (query.sort, &text) {
        (Some(SortParam::Relevance), None) => {
            return Err(ApiError::field("sort", "relevance needs a search text in q"));
        }
        (Some(sort), _) => sort,
        (None, Some(_)) => SortParam::Relevance,
        (None, None) => SortParam::Newest,
    };
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
    let search = match text.as_deref().map(SearchQuery::parse) {
        Some(None) => {
            return answer(
                &req,
                &CampaignPage {
                    items: Vec::new(),
                    next_cursor: None,
                },
            );
        }
        Some(Some(search)) => Some(search),
        None => None,
    };
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
                    text: search.as_ref(),
                    sort: sort.sort(),
                    after,
                    limit: limit + 1,
                },
            )?;
            let covers = image::by_id(conn, rows.iter().filter_map(|l| l.row.cover_image_id), &links)?;
            Ok::<_, CoreError>((rows, covers))
        })
        .await?;
    let has_more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = rows
        .last()
        .filter(|_| has_more)
        .map(|listed| cursor::encode(sort.name(), listed.key, listed.row.id.0));
    let items = rows
        .iter()
        .map(|l| CampaignSummary::new(&l.row, l.owner.clone(), pick(&covers, l.row.cover_image_id), now))
        .collect();
    answer(&req, &CampaignPage { items, next_cursor })
}

fn answer(req: &HttpRequest, page: &CampaignPage) -> Result<HttpResponse, ApiError> {
    if !cache::is_anonymous(req) {
        return Ok(HttpResponse::Ok().json(page));
    }
    let tagged = Tagged::json(page).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(cache::public(req, &tagged))
}
