//! The one hook that bridges the shell and the window: the view model the
//! shell publishes, pictures through the image cache, the video path the
//! page chose, the system's reduced-motion setting, the key count and the
//! test harness's questions. Root is layout only; the screens read view
//! models and send events.

use crate::control::EvalRequest;
use crate::keys::count_keys;
use crate::players::VideoPath;
use crate::shell::ShellHandle;
use dioxus::prelude::*;
use livecart_core::{Event, ViewModel};
use livecart_ui::{IMG_BASE, Ui};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What the desktop's own hook needs beside the shared `Ui`: the shell (view
/// models, images, video path) and the test harness's questions.
#[derive(Clone)]
pub struct DesktopCx {
    pub(crate) shell: ShellHandle,
    /// Scripts to evaluate for the test harness (`--e2e-control` only).
    pub(crate) evals: Arc<Mutex<Option<mpsc::UnboundedReceiver<EvalRequest>>>>,
}

/// Connects the window to the shell; returns the view model to render
/// (`None` until the shell's first one).
pub fn use_shell(ui: &Ui, desktop: &DesktopCx) -> Signal<Option<ViewModel>> {
    let mut view = use_signal(|| None::<ViewModel>);

    use_hook(count_keys);
    // Pictures through the image cache.
    let images = desktop.shell.images.clone();
    dioxus::desktop::use_asset_handler("img", move |req, responder| {
        let path = req.uri().path().trim_start_matches("/img").to_owned();
        let _ = images.send((path, responder));
    });
    if IMG_BASE.get().is_none()
        && let Some(base) = desktop.shell.base_url.borrow().clone()
    {
        let _ = IMG_BASE.set(base);
    }
    // The view model, as the shell publishes it.
    let shell = desktop.shell.clone();
    use_future(move || {
        let mut rx = shell.view.clone();
        async move {
            loop {
                let vm = rx.borrow_and_update().clone();
                view.set(vm);
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    });
    // The video views: the page picks WebCodecs or JPEG and says which.
    let shell = desktop.shell.clone();
    use_future(move || {
        let shell = shell.clone();
        async move {
            // The page started its views at load (`livecartBoot`); this asks
            // for the path it chose.
            let js = "return await window.livecart.started;";
            match document::eval(js).join::<String>().await {
                Ok(path) => {
                    tracing::info!(%path, "video path");
                    if path == "jpeg" {
                        let _ = shell.video_path.send(VideoPath::Jpeg);
                    }
                }
                Err(e) => tracing::error!("the video views did not start: {e}"),
            }
        }
    });
    // Reduced motion as the system asks (big gifts become a banner).
    let ui_motion = ui.clone();
    use_future(move || {
        let ui = ui_motion.clone();
        async move {
            let js = "return matchMedia('(prefers-reduced-motion: reduce)').matches;";
            if let Ok(true) = document::eval(js).join::<bool>().await {
                ui.send(Event::ReducedMotion(true));
            }
        }
    });
    // The test harness's questions (only with --e2e-control).
    let evals = desktop.evals.clone();
    use_future(move || {
        let rx = evals.lock().ok().and_then(|mut g| g.take());
        async move {
            let Some(mut rx) = rx else { return };
            while let Some((js, reply)) = rx.recv().await {
                let answer = document::eval(&js)
                    .join::<serde_json::Value>()
                    .await
                    .map_err(|e| e.to_string());
                let _ = reply.send(answer);
            }
        }
    });

    view
}
