//! Test-only remote control (`--e2e-control`): a loopback HTTP endpoint the
//! end-to-end harness uses to find elements (their `getBoundingClientRect`,
//! through `document::eval`) and read what the page drew. Input always comes
//! from real pointer/keyboard events (xdotool), never from here.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use livecart_core::ViewModel;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

/// A script for the window to evaluate, and where its answer goes.
pub type EvalRequest = (String, oneshot::Sender<Result<Value, String>>);

#[derive(Clone)]
struct Control {
    evals: mpsc::UnboundedSender<EvalRequest>,
    view: watch::Receiver<Option<ViewModel>>,
}

#[derive(Deserialize)]
struct Nth {
    #[serde(default)]
    nth: usize,
}

/// Serves the control endpoint; returns its port.
pub async fn serve(
    evals: mpsc::UnboundedSender<EvalRequest>,
    view: watch::Receiver<Option<ViewModel>>,
) -> std::io::Result<u16> {
    let app = axum::Router::new()
        .route("/rect/{testid}", axum::routing::get(rect))
        .route("/all/{testid}", axum::routing::get(all))
        .route("/state", axum::routing::get(state))
        .route("/trace", axum::routing::get(trace))
        .with_state(Control { evals, view });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(port)
}

async fn eval(c: &Control, js: String) -> Result<Value, Response> {
    let (tx, rx) = oneshot::channel();
    c.evals
        .send((js, tx))
        .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "the window is gone").into_response())?;
    match rx.await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err((StatusCode::INTERNAL_SERVER_ERROR, e).into_response()),
        Err(_) => Err((StatusCode::SERVICE_UNAVAILABLE, "the window is gone").into_response()),
    }
}

/// Test ids go into a script: only `[A-Za-z0-9_-]`.
fn invalid(testid: &str) -> Option<Response> {
    let ok = testid
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    (!ok).then(|| (StatusCode::BAD_REQUEST, "testids are [a-z0-9-_]").into_response())
}

async fn rect(
    State(c): State<Control>,
    Path(testid): Path<String>,
    Query(q): Query<Nth>,
) -> Response {
    if let Some(refused) = invalid(&testid) {
        return refused;
    }
    match eval(
        &c,
        format!("return window.livecart.rect('{testid}', {});", q.nth),
    )
    .await
    {
        Ok(Value::Null) => (StatusCode::NOT_FOUND, "no such element").into_response(),
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// Every element with this testid on screen (text, `data-id`, box).
async fn all(State(c): State<Control>, Path(testid): Path<String>) -> Response {
    if let Some(refused) = invalid(&testid) {
        return refused;
    }
    match eval(&c, format!("return window.livecart.all('{testid}');")).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// What each video view did lately (socket, access units, decoder output,
/// draws), for finding where a slow swipe waited.
async fn trace(State(c): State<Control>) -> Response {
    match eval(&c, "return window.livecart.trace();".to_owned()).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
struct Since {
    /// Latency percentiles over frames drawn at or after this page time (ms).
    #[serde(default)]
    since: f64,
}

async fn state(State(c): State<Control>, Query(q): Query<Since>) -> Response {
    let view = c.view.borrow().clone();
    // Null while the page is still loading.
    let page = eval(&c, format!("return window.livecart.stats({});", q.since))
        .await
        .unwrap_or(Value::Null);
    let view = view.map(|v| {
        let current = v.pages.get(v.index);
        json!({
            "index": v.index,
            "pages": v.pages.len(),
            "rooms": v.pages.iter().map(|p| p.room_id.clone()).collect::<Vec<_>>(),
            "badge": current.map(|p| p.badge.clone()),
            "video": current.is_some_and(|p| p.video),
            "user": v.user,
            "muted": v.muted,
            "keys_handed": crate::keys::keys_handed(),
            "sign_in_open": v.sign_in.is_some(),
            "message": v.message,
            "error": v.error,
        })
    });
    Json(json!({ "view": view, "page": page })).into_response()
}
