//! What the browser tests (tests/web.rs) and the web bench (benches/web.rs)
//! share: a real livecart server with the demo world (`livecart --headless`,
//! tests/e2e/headless.rs, which serves the web app `./dev` built) and
//! Chromium driven by tests/web/app.mjs (Playwright; `./dev deps` installs
//! both).

#[path = "../e2e/headless.rs"]
mod headless;
pub use headless::HeadlessServer;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A server with the demo world serving the web app `./dev` built.
pub fn server(env: &[(&str, &str)]) -> HeadlessServer {
    let built = workspace().join("target/webapp/livecart-web_bg.wasm");
    assert!(
        built.exists(),
        "the web app is not built ({}): run ./dev web (./dev test does it first)",
        built.display()
    );
    HeadlessServer::start(env)
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Runs one scenario of tests/web/app.mjs against `base`; its JSON answer.
/// A failure panics with the browser's console and the script's error (and
/// a screenshot in target/web-failures/).
pub fn scenario(base: &str, name: &str, opts: &Value) -> Value {
    let failures = workspace().join("target/web-failures");
    let _ = std::fs::create_dir_all(&failures);
    let child = Command::new("node")
        .arg(workspace().join("tests/web/app.mjs"))
        .args([base, name, &opts.to_string()])
        .env("LIVECART_FAILURE_DIR", &failures)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (./dev deps installs it)");
    // The script bounds each wait itself; this only stops a hung browser.
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(Duration::from_mins(3)) else {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("the browser scenario {name} hung for 3 minutes");
    };
    let out = out.expect("the browser run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser scenario {name} failed ({}); run ./dev deps if playwright-core or chromium is missing:\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)))
}
