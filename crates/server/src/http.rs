//! The HTTP surface: `app(state) -> Router`, kept apart from `serve` so tests
//! can drive it directly. This file is the route table; handlers are thin
//! (parse, authorize, call into the domain, answer) and live beside the
//! domain they serve or in `http/` when they are HTTP's own (extractors,
//! images, sessions, rooms, the host API). Every error is an RFC 9457 problem.

mod app;
mod au;
mod extract;
mod flv;
mod host;
mod images;
pub mod lazy_images;
mod rooms;
mod session;
mod web;

pub use extract::{Body, PathId, parse_id};
#[cfg(feature = "demo")]
pub use images::draw_pending_on;
pub use lazy_images::LazyImages;
#[cfg(feature = "demo")]
pub use lazy_images::Render;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use livecart_protocol::{MIN_PROTOCOL_VERSION, PROTOCOL_HEADER};
use tower_http::trace::TraceLayer;

pub fn app(state: AppState) -> Router {
    let web_app = app::WebApp::shared(&app::build_dir(state.config.web_dir.as_deref()));
    let host_api = Router::new()
        .route("/rooms", get(host::list).post(host::create))
        .route("/rooms/{id}/start", post(host::start))
        .route("/rooms/{id}/end", post(host::end))
        .route("/rooms/{id}/products", post(host::add_product))
        .route("/rooms/{id}/pin", post(host::pin))
        .route("/rooms/{id}/unpin", post(host::unpin))
        .route("/rooms/{id}/flash-sales", post(host::flash_sale))
        .route(
            "/rooms/{id}/flash-sales/{sale}/end",
            post(host::end_flash_sale),
        )
        .route("/rooms/{id}/mutes", post(host::mute))
        .route("/rooms/{id}/notices", post(host::notice))
        .route("/rooms/{id}/chat/{message}", delete(host::remove_message));
    #[cfg(feature = "demo")]
    let host_api = host_api.route("/rooms/{id}/demo-gifts", post(host::demo_gift));
    let v1 = Router::new()
        .route("/feed", get(rooms::feed))
        .route("/rooms/{id}", get(rooms::room_snapshot))
        .route("/rooms/{id}/live", get(rooms::room_live))
        .route("/gifts", get(rooms::gifts))
        .route("/session", post(session::sign_in).delete(session::sign_out))
        .route("/session/refresh", post(session::refresh))
        .route("/me", get(session::me))
        .route("/me/following", get(crate::social::following))
        .route(
            "/me/following/{host}",
            put(crate::social::follow).delete(crate::social::unfollow),
        )
        .route("/rooms/{id}/reports", post(crate::social::report))
        .route("/rooms/{id}/gifts", post(crate::money::gifts::send))
        .route("/wallet", get(crate::money::wallet::wallet))
        .route("/wallet/entries", get(crate::money::wallet::entries))
        .route("/wallet/top-ups", post(crate::money::wallet::create_top_up))
        .route(
            "/wallet/top-ups/{id}",
            get(crate::money::wallet::get_top_up),
        )
        .route(
            "/me/addresses",
            get(crate::money::orders::list_addresses).post(crate::money::orders::create_address),
        )
        .route(
            "/me/addresses/{id}",
            put(crate::money::orders::update_address).delete(crate::money::orders::delete_address),
        )
        .route(
            "/orders",
            get(crate::money::orders::tracking::list_orders)
                .post(crate::money::orders::place_order),
        )
        .route(
            "/orders/{id}",
            get(crate::money::orders::tracking::get_order),
        )
        .route(
            "/orders/{id}/cancel",
            post(crate::money::orders::tracking::cancel),
        )
        .route(
            "/orders/{id}/refund-request",
            post(crate::money::orders::tracking::request_refund),
        )
        .route("/me/live", get(crate::live::me_live::live))
        .route("/images/{file}", get(images::image_full))
        .route("/images/{id}/thumb.jpg", get(images::image_thumb))
        .nest("/host", host_api)
        .layer(middleware::from_fn(check_version));
    Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(|| async { "ok" }))
        .route("/live/{file}", get(flv::serve_flv))
        .route("/live/{room}/au", get(au::serve_au))
        .route("/live/{room}/fmp4", get(au::serve_fmp4))
        .route(
            "/r/{room}",
            get(web::room_page).layer(axum::Extension(web_app.clone())),
        )
        .route("/watch/{room}", get(web::watch_page))
        .route("/assets/origin.js", get(web::origin_js))
        .merge(app::routes(web_app))
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
