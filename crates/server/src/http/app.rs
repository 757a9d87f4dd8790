//! The web app (#18, docs/web.md): livecart in a phone's browser, served at
//! `/` (and at a room's share link, `/r/{room}`). Its files are the
//! wasm-bindgen build `./dev` makes (`config.web_dir`) and the page's
//! scripts and styles from `assets/`, compiled into the server.
//!
//! Every file but the page itself is served under a name carrying its
//! content hash (`/app/<name>.<hash>.<ext>`) as `immutable` for a year: a new
//! build is new names, never a stale cache. The page (`no-cache`) names the
//! current ones. Files are gzip-compressed once, at start, and sent
//! compressed to every browser that takes gzip.

mod shell;

use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use livecart_protocol::RoomId;
use livecart_protocol::rest::{RoomStatus, RoomSummary, StreamProtocol};
use sha2::{Digest, Sha256};
use shell::{GLUE, WASM};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

/// The page's scripts and styles, shared with the desktop window.
const ASSETS: &[(&str, &[u8])] = &[
    ("app.css", include_bytes!("../../../../assets/app.css")),
    ("inputs.js", include_bytes!("../../../../assets/inputs.js")),
    ("video.js", include_bytes!("../../../../assets/video.js")),
    ("origin.js", include_bytes!("../../../../assets/origin.js")),
    (
        "media-worker.js",
        include_bytes!("../../../../assets/media-worker.js"),
    ),
    ("mse.js", include_bytes!("../../../../assets/mse.js")),
    ("web.js", include_bytes!("../../../../assets/web.js")),
    (
        "icon.svg",
        include_bytes!("../../../../assets/icons/icon.svg"),
    ),
    (
        "icon-192.png",
        include_bytes!("../../../../assets/icons/128x128.png"),
    ),
    (
        "icon-512.png",
        include_bytes!("../../../../assets/icons/512x512.png"),
    ),
];

struct File {
    body: bytes::Bytes,
    gzip: Option<bytes::Bytes>,
    content_type: &'static str,
}

/// The web app's files, by the names the page uses.
pub struct WebApp {
    files: HashMap<String, File>,
    /// `None`: no build was found (the page says how to make one).
    page: Option<String>,
    manifest: String,
    /// The service worker: keeps the page and these files for offline.
    worker: String,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// `app.css` → `app.1a2b3c4d5e6f.css`.
fn hashed(name: &str, body: &[u8]) -> String {
    let hash = Sha256::digest(body);
    let short = hash[..6].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{short}.{ext}"),
        None => format!("{name}.{short}"),
    }
}

fn gzip(body: &[u8]) -> Option<bytes::Bytes> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).ok()?;
    enc.finish().ok().map(bytes::Bytes::from)
}

/// The build's snippets: (path under `snippets/`, contents).
fn snippets(dir: &FsPath) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if let (Ok(rel), Ok(body)) = (p.strip_prefix(dir), std::fs::read(&p)) {
                out.push((rel.to_string_lossy().replace('\\', "/"), body));
            }
        }
    }
    out
}

/// Where the build is: the configured directory, else the workspace's
/// `target/webapp` (a server run from the source tree).
pub fn build_dir(configured: Option<&FsPath>) -> PathBuf {
    configured.map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/webapp")),
        FsPath::to_path_buf,
    )
}

impl WebApp {
    pub fn load(dir: &FsPath) -> Self {
        let mut files = HashMap::new();
        let mut names = HashMap::new();
        let mut add = |name: &str, body: Vec<u8>| {
            let public = hashed(name, &body);
            let compress = content_type(name) != "image/png";
            let gzip = if compress { gzip(&body) } else { None };
            names.insert(name.to_owned(), public.clone());
            files.insert(
                public,
                File {
                    body: body.into(),
                    gzip,
                    content_type: content_type(name),
                },
            );
        };
        for (name, body) in ASSETS {
            add(name, body.to_vec());
        }
        let built = match (std::fs::read(dir.join(GLUE)), std::fs::read(dir.join(WASM))) {
            (Ok(glue), Ok(wasm)) => {
                let mut glue = String::from_utf8_lossy(&glue).into_owned();
                for (path, body) in snippets(&dir.join("snippets")) {
                    let flat = format!("snippets-{}", path.replace('/', "-"));
                    let public = hashed(&flat, &body);
                    glue = glue.replace(&format!("./snippets/{path}"), &format!("./{public}"));
                    add(&flat, body);
                }
                add(GLUE, glue.into_bytes());
                add(WASM, wasm);
                true
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "no web app build here ({e}): `./dev run` or `./dev web` makes one"
                );
                false
            }
        };
        let at = |n: &str| format!("/app/{}", names.get(n).map_or(n, String::as_str));
        let page = built.then(|| shell::page_html(&at));
        let manifest = serde_json::json!({
            "name": "livecart",
            "short_name": "livecart",
            "description": "Live shopping: swipe live rooms, buy what the host holds.",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#0c0c10",
            "theme_color": "#0c0c10",
            "icons": [
                { "src": at("icon-192.png"), "sizes": "128x128", "type": "image/png" },
                { "src": at("icon-512.png"), "sizes": "512x512", "type": "image/png" },
                { "src": at("icon.svg"), "sizes": "any", "type": "image/svg+xml" },
            ],
        })
        .to_string();
        let mut shell: Vec<String> = files.keys().map(|f| format!("/app/{f}")).collect();
        shell.sort();
        let version = hashed("shell", page.as_deref().unwrap_or_default().as_bytes());
        let worker = format!(
            "{}\nconst CACHE = {};\nconst SHELL = {};\n{}",
            "// livecart's service worker (crates/server/src/http/app.rs): the app's page and files, for offline.",
            serde_json::json!(version),
            serde_json::json!(
                ["/"]
                    .into_iter()
                    .map(str::to_owned)
                    .chain(shell)
                    .collect::<Vec<_>>()
            ),
            shell::WORKER
        );
        Self {
            files,
            page,
            manifest,
            worker,
        }
    }

    pub fn is_built(&self) -> bool {
        self.page.is_some()
    }

    /// The web app in `dir`, loaded (and compressed) once per process.
    pub fn shared(dir: &FsPath) -> Arc<Self> {
        static LOADED: std::sync::Mutex<Vec<(PathBuf, Arc<WebApp>)>> =
            std::sync::Mutex::new(Vec::new());
        let mut loaded = LOADED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, app)) = loaded.iter().find(|(d, _)| d == dir) {
            return app.clone();
        }
        let app = Arc::new(Self::load(dir));
        loaded.push((dir.to_path_buf(), app.clone()));
        app
    }
}

fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| e.split(';').next().is_some_and(|e| e.trim() == "gzip"))
}

async fn file(
    State(app): State<Arc<WebApp>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(f) = app.files.get(&name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut res = match (&f.gzip, takes_gzip(&headers)) {
        (Some(gz), true) => {
            let mut r = gz.clone().into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        _ => f.body.clone().into_response(),
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(f.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// A body with its type, revalidated on every use (`no-cache`): what is
/// not content-hashed.
pub(super) fn fresh(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// The page: the app, whatever address it was opened at (`/`, `/r/{room}`,
/// `/orders`, `/wallet`: crates/ui's routes), starting `boot` playing
/// before the app runs (the room it will show first).
pub fn page(app: &WebApp, boot: Option<RoomId>) -> Response {
    match &app.page {
        Some(p) => fresh(
            p.replace(
                shell::BOOT_MARK,
                &boot.map(shell::boot_meta).unwrap_or_default(),
            ),
            "text/html; charset=utf-8",
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CACHE_CONTROL, "no-cache")],
            "livecart's web app is not built on this server: run `./dev run` (or set web_dir)",
        )
            .into_response(),
    }
}

/// The room a page opened at `/` (no `wanted`) or at `/r/{wanted}` shows
/// first, if the page can play it from the media origin: the feed's first
/// room, or the wanted one while it is live.
pub fn boot_room(state: &AppState, wanted: Option<RoomId>) -> Option<RoomId> {
    let plays = |s: &RoomSummary| {
        s.status == RoomStatus::Live
            && s.streams
                .iter()
                .any(|u| u.protocol == StreamProtocol::AccessUnits)
    };
    match wanted {
        Some(id) => state
            .rooms
            .get(id)
            .filter(|r| plays(&r.summary()))
            .map(|_| id),
        None => state.rooms.feed().into_iter().find(plays).map(|s| s.id),
    }
}

async fn worker(State(app): State<Arc<WebApp>>) -> Response {
    fresh(app.worker.clone(), "text/javascript; charset=utf-8")
}

async fn manifest(State(app): State<Arc<WebApp>>) -> Response {
    fresh(app.manifest.clone(), "application/manifest+json")
}

/// The routes of the web app: the page at `/` (and at the screens'
/// addresses), its files, its manifest.
pub fn routes(app: Arc<WebApp>) -> Router<AppState> {
    let at = |boots: bool| {
        let app = app.clone();
        get(move |State(state): State<AppState>| async move {
            page(&app, boots.then(|| boot_room(&state, None)).flatten())
        })
    };
    let pages = Router::new()
        .route("/", at(true))
        .route("/orders", at(false))
        .route("/wallet", at(false));
    pages.merge(
        Router::new()
            .route("/app/{file}", get(file))
            .route("/manifest.webmanifest", get(manifest))
            .route("/sw.js", get(worker))
            .with_state(app),
    )
}
