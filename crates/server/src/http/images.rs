//! Pictures: served from the database with year-long caching, or drawn on
//! first request when the demo world has not drawn them yet.

use super::extract::parse_id;
use super::lazy_images::Render;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use livecart_protocol::ImageId;

pub(super) async fn image_full(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = file
        .strip_suffix(".jpg")
        .ok_or(ApiError::NotFound("image"))?;
    image(&state, parse_id(id, "image")?, false, &headers).await
}

pub(super) async fn image_thumb(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    image(&state, parse_id(&id, "image")?, true, &headers).await
}

/// Draws one pending picture and stores it; (full, thumbnail). Drawing
/// twice (a request racing the background) stores it once.
pub async fn draw_pending(
    state: &AppState,
    id: ImageId,
) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
    draw_pending_on(state, id, |render| async move {
        tokio::task::spawn_blocking(move || render()).await?
    })
    .await
}

/// [`draw_pending`], with the drawing itself done by `run` (the background
/// drawer runs it on a thread of the lowest priority).
pub async fn draw_pending_on<F, Fut>(
    state: &AppState,
    id: ImageId,
    run: F,
) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>>
where
    F: FnOnce(Render) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(Vec<u8>, Vec<u8>)>>,
{
    let Some(render) = state.lazy_images.get(id) else {
        return Ok(None);
    };
    let (full, thumb) = run(render).await?;
    sqlx::query(
        "INSERT INTO images (id, content_type, full, thumb) VALUES (?, 'image/jpeg', ?, ?) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id.to_string())
    .bind(&full)
    .bind(&thumb)
    .execute(&state.writer)
    .await?;
    state.lazy_images.drawn(id);
    Ok(Some((full, thumb)))
}

/// Images never change under an id, so they are cached for a year and
/// revalidation is a cheap ETag match.
async fn image(
    state: &AppState,
    id: ImageId,
    thumb: bool,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let etag = format!("\"{id}{}\"", if thumb { "-t" } else { "" });
    let cache = [
        (
            header::ETAG,
            HeaderValue::from_str(&etag).map_err(anyhow::Error::from)?,
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let sql = if thumb {
        "SELECT content_type, thumb FROM images WHERE id = ?"
    } else {
        "SELECT content_type, full FROM images WHERE id = ?"
    };
    let row: Option<(String, Vec<u8>)> = sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&state.db)
        .await?;
    let (ct, bytes) = if let Some(r) = row {
        r
    } else {
        let (full, small) = draw_pending(state, id)
            .await?
            .ok_or(ApiError::NotFound("image"))?;
        ("image/jpeg".to_owned(), if thumb { small } else { full })
    };
    let ct = HeaderValue::from_str(&ct).map_err(anyhow::Error::from)?;
    Ok((cache, [(header::CONTENT_TYPE, ct)], bytes).into_response())
}
