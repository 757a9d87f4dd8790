//! The HTTP surface: `app(state) -> Router`, kept apart from `serve` so tests
//! can drive it directly. Handlers are thin: parse, authorize, call into
//! `host`/`auth`/`rooms`, answer. Every error is an RFC 9457 problem.

use crate::auth::{self, HostCaller, SignedIn, Viewer};
use crate::error::{ApiError, ApiResult};
use crate::host;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use livecart_protocol::live::LiveQuery;
use livecart_protocol::rest::{
    AddProductRequest, CreateRoomRequest, DemoGiftRequest, FeedResponse, FlashSaleState, Gift,
    GiftCatalog, HostRoomsResponse, MuteRequest, NoticeRequest, PinRequest, Profile,
    RefreshRequest, RoomStatus, SignInRequest, StartFlashSaleRequest, UnpinRequest,
};
use livecart_protocol::{ImageId, MIN_PROTOCOL_VERSION, MessageId, PROTOCOL_HEADER, RoomId};
use serde::de::DeserializeOwned;
use std::str::FromStr;
use tower_http::trace::TraceLayer;

pub fn app(state: AppState) -> Router {
    let host_api = Router::new()
        .route("/rooms", get(host_list).post(host_create))
        .route("/rooms/{id}/start", post(host_start))
        .route("/rooms/{id}/end", post(host_end))
        .route("/rooms/{id}/products", post(host_add_product))
        .route("/rooms/{id}/pin", post(host_pin))
        .route("/rooms/{id}/unpin", post(host_unpin))
        .route("/rooms/{id}/flash-sales", post(host_flash_sale))
        .route(
            "/rooms/{id}/flash-sales/{sale}/end",
            post(host_end_flash_sale),
        )
        .route("/rooms/{id}/mutes", post(host_mute))
        .route("/rooms/{id}/notices", post(host_notice))
        .route("/rooms/{id}/demo-gifts", post(host_demo_gift))
        .route("/rooms/{id}/chat/{message}", delete(host_remove_message));
    let v1 = Router::new()
        .route("/feed", get(feed))
        .route("/rooms/{id}", get(room_snapshot))
        .route("/rooms/{id}/live", get(room_live))
        .route("/gifts", get(gifts))
        .route("/session", post(sign_in).delete(sign_out))
        .route("/session/refresh", post(refresh))
        .route("/me", get(me))
        .route("/me/following", get(crate::social::following))
        .route(
            "/me/following/{host}",
            put(crate::social::follow).delete(crate::social::unfollow),
        )
        .route("/rooms/{id}/reports", post(crate::social::report))
        .route("/rooms/{id}/gifts", post(crate::gifts::send))
        .route("/wallet", get(crate::wallet::wallet))
        .route("/wallet/entries", get(crate::wallet::entries))
        .route("/wallet/top-ups", post(crate::wallet::create_top_up))
        .route("/wallet/top-ups/{id}", get(crate::wallet::get_top_up))
        .route(
            "/me/addresses",
            get(crate::orders::list_addresses).post(crate::orders::create_address),
        )
        .route(
            "/me/addresses/{id}",
            put(crate::orders::update_address).delete(crate::orders::delete_address),
        )
        .route(
            "/orders",
            get(crate::tracking::list_orders).post(crate::orders::place_order),
        )
        .route("/orders/{id}", get(crate::tracking::get_order))
        .route("/orders/{id}/cancel", post(crate::tracking::cancel))
        .route(
            "/orders/{id}/refund-request",
            post(crate::tracking::request_refund),
        )
        .route("/me/live", get(crate::me_live::live))
        .route("/images/{file}", get(image_full))
        .route("/images/{id}/thumb.jpg", get(image_thumb))
        .nest("/host", host_api)
        .layer(middleware::from_fn(check_version));
    Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(|| async { "ok" }))
        .route("/live/{file}", get(crate::streams::serve_flv))
        .fallback(|| async { ApiError::NotFound("route") })
        .layer(DefaultBodyLimit::max(64 * 1024))
        // A body trickled in slower than this is cut off (408).
        .layer(middleware::from_fn({
            let limit = std::time::Duration::from_secs(state.config.http.body_timeout_s.max(1));
            move |req, next| crate::listen::body_deadline(limit, req, next)
        }))
        .layer(middleware::from_fn(crate::error::problems))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Refuses clients whose protocol is too old, before anything else runs.
async fn check_version(req: Request, next: Next) -> Response {
    let header_v = req
        .headers()
        .get(PROTOCOL_HEADER)
        .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<u32>().ok()));
    let query_v = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("v="))
            .map(|v| v.parse::<u32>().ok())
    });
    // Absent means "current": curl and browsers may look without it.
    match header_v.or(query_v) {
        Some(None) => ApiError::BadRequest(format!(
            "{PROTOCOL_HEADER} must be a protocol version number"
        ))
        .into_response(),
        Some(Some(v)) if v < MIN_PROTOCOL_VERSION => ApiError::UpgradeRequired(v).into_response(),
        _ => next.run(req).await,
    }
}

/// A JSON body whose rejections are problem responses, not plain text.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::BadRequest(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::Malformed(
                "send the body as application/json".into(),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge(e.body_text()))
            }
            Err(e) => Err(ApiError::Malformed(e.body_text())),
        }
    }
}

/// An id from a URL path; one that does not parse is simply "not found".
pub fn parse_id<T: FromStr>(s: &str, what: &'static str) -> ApiResult<T> {
    s.parse().map_err(|_| ApiError::NotFound(what))
}

async fn feed(State(state): State<AppState>) -> Json<FeedResponse> {
    Json(FeedResponse {
        rooms: state.rooms.feed(),
    })
}

async fn room_snapshot(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let room = state
        .rooms
        .get(parse_id(&id, "room")?)
        .ok_or(ApiError::NotFound("room"))?;
    let mut res = Json(room.snapshot()).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn room_live(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Viewer(user): Viewer,
    ClientAddr(address): ClientAddr,
    q: Result<Query<LiveQuery>, axum::extract::rejection::QueryRejection>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let room = state
        .rooms
        .get(parse_id(&id, "room")?)
        .ok_or(ApiError::NotFound("room"))?;
    crate::ws::upgrade(ws, state, room, user, address, q)
}

async fn gifts(State(state): State<AppState>) -> ApiResult<Response> {
    let rows: Vec<(String, String, i64, String)> =
        sqlx::query_as("SELECT id, name, coins, animation FROM gifts ORDER BY position, coins")
            .fetch_all(&state.db)
            .await?;
    let gifts = rows
        .into_iter()
        .map(|(id, name, coins, animation)| {
            Ok(Gift {
                id: crate::db::parse(&id, "gift id")?,
                name,
                coins: u32::try_from(coins).unwrap_or(0),
                animation,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut res = Json(GiftCatalog { gifts }).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}

async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Body(req): Body<SignInRequest>,
) -> ApiResult<Response> {
    state.guard.sign_in_attempt(&req.username, address)?;
    let session = auth::sign_in(&state, &req.username, &req.password).await?;
    tracing::info!(user = %session.user.id, "signed in");
    Ok(no_store(Json(session)))
}

/// `DELETE /v1/session`: signs out everywhere this session chain reaches
/// (its refresh and access tokens stop working at once).
/// The client's address, when the server was given it (`serve` is; a
/// router driven directly in a test is not).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

async fn sign_out(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
) -> ApiResult<StatusCode> {
    auth::sign_out(&state, &claims).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn refresh(
    State(state): State<AppState>,
    Body(req): Body<RefreshRequest>,
) -> ApiResult<Response> {
    Ok(no_store(Json(
        auth::refresh(&state, &req.refresh_token).await?,
    )))
}

fn no_store(body: impl IntoResponse) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn me(State(state): State<AppState>, SignedIn(claims): SignedIn) -> ApiResult<Json<Profile>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT username, display_name FROM users WHERE id = ?")
            .bind(claims.sub.to_string())
            .fetch_optional(&state.db)
            .await?;
    let (username, name) = row.ok_or(ApiError::NotFound("user"))?;
    Ok(Json(Profile {
        id: claims.sub,
        username,
        name,
        role: claims.role,
    }))
}

async fn image_full(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = file
        .strip_suffix(".jpg")
        .ok_or(ApiError::NotFound("image"))?;
    image(&state, parse_id(id, "image")?, false, &headers).await
}

async fn image_thumb(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    image(&state, parse_id(&id, "image")?, true, &headers).await
}

/// Renders a picture: (full, thumbnail) JPEGs.
pub type Render = std::sync::Arc<dyn Fn() -> anyhow::Result<(Vec<u8>, Vec<u8>)> + Send + Sync>;

/// Pictures whose rows are not written yet: the demo world starts serving
/// before its art is drawn (drawing it all cost ~0.8 s of the first start),
/// a background task draws it, and a request that comes first draws its
/// own picture at once.
#[derive(Default)]
pub struct LazyImages(
    std::sync::Mutex<std::collections::HashMap<ImageId, Render>>,
    tokio::sync::Notify,
);

impl LazyImages {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<ImageId, Render>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn add(&self, id: ImageId, render: Render) {
        self.lock().insert(id, render);
    }

    fn get(&self, id: ImageId) -> Option<Render> {
        self.lock().get(&id).cloned()
    }

    /// A picture is drawn and stored: no longer pending.
    fn drawn(&self, id: ImageId) {
        let mut pending = self.lock();
        pending.remove(&id);
        if pending.is_empty() {
            self.1.notify_waiters();
        }
    }

    /// Returns once no picture is left to draw.
    pub async fn all_drawn(&self) {
        loop {
            let done = self.1.notified();
            if self.lock().is_empty() {
                return;
            }
            done.await;
        }
    }

    pub fn pending(&self) -> Vec<ImageId> {
        let mut ids: Vec<_> = self.lock().keys().copied().collect();
        ids.sort_unstable_by_key(|i| i.0);
        ids
    }
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

// ---- host API ----

async fn host_list(State(state): State<AppState>, caller: HostCaller) -> Json<HostRoomsResponse> {
    Json(HostRoomsResponse {
        rooms: host::list(&state, &caller),
    })
}

async fn host_create(
    State(state): State<AppState>,
    caller: HostCaller,
    Body(req): Body<CreateRoomRequest>,
) -> ApiResult<Response> {
    let room = host::create_room(&state, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(room)).into_response())
}

async fn host_start(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(
        Json(host::set_status(&state, &caller, parse_id(&id, "room")?, RoomStatus::Live).await?)
            .into_response(),
    )
}

async fn host_end(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(
        Json(host::set_status(&state, &caller, parse_id(&id, "room")?, RoomStatus::Ended).await?)
            .into_response(),
    )
}

async fn host_add_product(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
    Body(req): Body<AddProductRequest>,
) -> ApiResult<Response> {
    let p = host::add_product(&state, &caller, parse_id(&id, "room")?, req).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

async fn host_pin(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
    Body(req): Body<PinRequest>,
) -> ApiResult<Response> {
    Ok(Json(host::pin(&state, &caller, parse_id(&id, "room")?, req).await?).into_response())
}

async fn host_unpin(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    // The body is optional: an empty one unpins at the server's clock.
    let req: UnpinRequest = if body.is_empty() {
        UnpinRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?
    };
    host::unpin(&state, &caller, parse_id(&id, "room")?, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn host_flash_sale(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
    Body(req): Body<StartFlashSaleRequest>,
) -> ApiResult<Response> {
    let sale = host::start_flash_sale(&state, &caller, parse_id(&id, "room")?, req).await?;
    Ok((StatusCode::CREATED, Json(sale)).into_response())
}

/// The host ends a flash sale before its deadline ("that's it, sale over").
async fn host_end_flash_sale(
    State(state): State<AppState>,
    caller: HostCaller,
    Path((id, sale)): Path<(String, String)>,
) -> ApiResult<Response> {
    let room = host::authorize(&state, &caller, parse_id(&id, "room")?)?;
    let sale: livecart_protocol::FlashSaleId = parse_id(&sale, "flash sale")?;
    let ended = host::end_flash_sale(&state, &room, sale, FlashSaleState::Ended).await?;
    Ok(Json(ended).into_response())
}

async fn host_mute(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
    Body(req): Body<MuteRequest>,
) -> ApiResult<Response> {
    let until = host::mute(&state, &caller, parse_id(&id, "room")?, req).await?;
    Ok(Json(serde_json::json!({ "until": until })).into_response())
}

async fn host_notice(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
    Body(req): Body<NoticeRequest>,
) -> ApiResult<StatusCode> {
    host::notice(&state, &caller, parse_id(&id, "room")?, &req.text)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn host_demo_gift(
    State(state): State<AppState>,
    caller: HostCaller,
    Path(id): Path<String>,
    Body(req): Body<DemoGiftRequest>,
) -> ApiResult<StatusCode> {
    host::demo_gift(&state, &caller, parse_id(&id, "room")?, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn host_remove_message(
    State(state): State<AppState>,
    caller: HostCaller,
    Path((id, message)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let room: RoomId = parse_id(&id, "room")?;
    let message: MessageId = parse_id(&message, "message")?;
    host::remove_message(&state, &caller, room, message)?;
    Ok(StatusCode::NO_CONTENT)
}
