use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::CampaignId;
use crate::domain::image::{MAX_ALT_CHARS, alt as parse_alt};
use crate::http::{ApiError, AppState, AuthUser, Query};
use crate::media::images::{self, Upload};
use crate::media::process::{Kind, MAX_BYTES};
use crate::shapes::image::ImageResponse;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Alternative text, up to 300 characters (or an `alt` form field).
    pub alt: Option<String>,
}

/// A multipart upload: one `file` part, and optionally `alt`; any other part is refused (422
/// naming it).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ImageForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    alt: Option<String>,
}

/// Uploads an image to a draft or live campaign (creator or admin): the raw JPEG, PNG or WebP
/// as the body, or `multipart/form-data` with one `file` part. The type is read from the file
/// itself; the image is decoded, stripped of its metadata (EXIF, GPS) and re-encoded at
/// three widths. At most 30 images per campaign and 60 uploads per user an hour.
#[utoipa::path(
    tag = "media",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id"), UploadQuery),
    request_body(
        description = "The image, at most 10 MiB and 8 000 × 8 000 pixels",
        content(
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/webp"),
            (ImageForm = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 201, body = ImageResponse, headers(("Location" = String, description = "The image"))),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "The campaign is neither a draft nor live, or holds 30 images"),
        (status = 413, description = "More than 10 MiB, or more pixels than accepted"),
        (status = 415, description = "Not a JPEG, PNG or WebP image, a type other than the one sent, or a file carrying HTML or script"),
        (status = 422, description = "`alt` is invalid, or the form has no `file` part"),
        (status = 429, description = "60 uploads this hour"),
    )
)]
#[post("/campaigns/{id}/images")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Query(query): Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let who = user;
    state
        .db
        .run(move |conn| images::may_upload(conn, id, &who).map(drop))
        .await?;
    state.upload_allowed(user.id)?;
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|n| n > MAX_BYTES + FORM_OVERHEAD) {
        return Err(crate::media::too_large().into());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (bytes, declared, form_alt) = if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        read_form(Multipart::new(req.headers(), payload)).await?
    } else if let Some(kind) = Kind::from_mime(&content_type) {
        (read_limited(payload).await?, Some(kind), None)
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "send the image as image/jpeg, image/png or image/webp, or as multipart/form-data with a `file` part".into(),
        ));
    };
    let alt = match (query.alt, form_alt) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "alt",
                "send it once: in the query or in the form",
            ));
        }
        (Some(alt), None) | (None, Some(alt)) => parse_alt(&alt).map_err(|m| ApiError::field("alt", m))?,
        (None, None) => String::new(),
    };
    let now = state.clock.now();
    let row = images::upload(
        &state.db,
        &state.media,
        id,
        &user,
        Upload { bytes, declared, alt },
        now,
    )
    .await?;
    let location = format!("/api/v1/campaigns/{}/images/{}", row.campaign_id, row.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(ImageResponse::new(&row, &state.media.links)))
}

/// Room for a form's boundaries and headers beside the file.
const FORM_OVERHEAD: usize = 64 * 1024;

async fn read_limited(mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
        if bytes.len() + chunk.len() > MAX_BYTES {
            return Err(crate::media::too_large().into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The form's `file` (with the type its part declares) and `alt`.
async fn read_form(mut form: Multipart) -> Result<(Vec<u8>, Option<Kind>, Option<String>), ApiError> {
    let mut file: Option<(Vec<u8>, Option<Kind>)> = None;
    let mut alt: Option<String> = None;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| ApiError::BadRequest(format!("the form could not be read: {e}")))?;
        let name = field.name().unwrap_or_default().to_owned();
        let limit = match name.as_str() {
            "file" if file.is_none() => MAX_BYTES,
            "alt" if alt.is_none() => MAX_ALT_CHARS * 4,
            "file" | "alt" => return Err(ApiError::field(name, "send one part of this name")),
            _ => {
                return Err(ApiError::field(
                    name,
                    "is not a field of this form: send `file` and `alt`",
                ));
            }
        };
        let declared = match field.content_type().map(|m| m.essence_str().to_owned()) {
            None => None,
            Some(mime) if mime == "application/octet-stream" => None,
            Some(mime) => match Kind::from_mime(&mime) {
                Some(kind) => Some(kind),
                None if name == "alt" && mime == "text/plain" => None,
                None => {
                    return Err(ApiError::UnsupportedMediaType(format!(
                        "the `{name}` part is {mime}: send a JPEG, PNG or WebP image"
                    )));
                }
            },
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::BadRequest(format!("the form could not be read: {e}")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(match name.as_str() {
                    "file" => crate::media::too_large().into(),
                    _ => ApiError::field("alt", format!("must be at most {MAX_ALT_CHARS} characters")),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if name == "file" {
            file = Some((bytes, declared));
        } else {
            alt = Some(String::from_utf8(bytes).map_err(|_| ApiError::field("alt", "must be UTF-8 text"))?);
        }
    }
    let (bytes, declared) = file.ok_or_else(|| ApiError::field("file", "is required: the image's part"))?;
    Ok((bytes, declared, alt))
}
