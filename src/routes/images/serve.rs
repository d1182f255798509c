use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::http::{ApiError, AppState};
use crate::media::store::IMMUTABLE;

/// A stored variant, as the file store's public address serves it. Its key is the hash of its
/// bytes: the answer never changes, so it is cached for a year and its `ETag` is the hash.
/// Served as the image type its key names, never sniffed, never run.
#[utoipa::path(
    tag = "media",
    params(("key" = String, Path, description = "`{sha256}.jpg` or `{sha256}.webp`")),
    responses(
        (status = 200, description = "The variant (image/jpeg or image/webp, as its key names)", content_type = "image/*", body = Vec<u8>),
        (status = 304, description = "`If-None-Match` names it"),
        (status = 404, description = "No such variant"),
    )
)]
#[get("/media/{key}")]
#[tracing::instrument(skip_all)]
pub async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner();
    let (hash, content_type) = match key.rsplit_once('.') {
        Some((hash, "jpg")) => (hash, "image/jpeg"),
        Some((hash, "webp")) => (hash, "image/webp"),
        _ => return Err(ApiError::NotFound),
    };
    if hash.len() != 64
        || !hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(ApiError::NotFound);
    }
    let e_tag = format!("\"{hash}\"");
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == e_tag || tag.trim() == "*"));
    let mut response = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header((header::ETAG, e_tag))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"));
    if cached {
        return Ok(response.finish());
    }
    let object = state
        .media
        .store
        .get(&key)
        .await
        .map_err(|e| ApiError::from(crate::domain::CoreError::Unavailable(e)))?
        .ok_or(ApiError::NotFound)?;
    Ok(response
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .body(object.bytes))
}
