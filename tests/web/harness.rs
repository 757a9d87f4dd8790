//! What the browser tests (tests/web.rs) and the web bench (benches/web.rs)
//! share: a real livecart server with the demo world (`livecart --headless`,
//! which serves the web app `./dev` built) and Chromium driven by
//! tests/web/app.mjs (Playwright; `./dev deps` installs both).

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `livecart --headless` on a free port, with its own data directory.
pub struct Server {
    child: Child,
    pub url: String,
    _data: tempfile::TempDir,
}

impl Server {
    /// `env`: configuration as the server reads it (`LIVECART_DEMO__SCRIPTS`…).
    pub fn start(env: &[(&str, &str)]) -> Self {
        let built = workspace().join("target/webapp/livecart-web_bg.wasm");
        assert!(
            built.exists(),
            "the web app is not built ({}): run ./dev web (./dev test does it first)",
            built.display()
        );
        let data = tempfile::tempdir().expect("a temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_livecart"))
            .args(["--headless", "--port", "0", "--data-dir"])
            .arg(data.path())
            .envs(env.iter().copied())
            .env("LIVECART_WEB_DIR", workspace().join("target/webapp"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("livecart starts");
        // The log shares stdout with the banner: read to the banner, then
        // keep draining (a full pipe would stall the server).
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        loop {
            line.clear();
            let n = stdout.read_line(&mut line).expect("the server's output");
            assert!(n > 0, "the server ended before its banner");
            if line.starts_with("livecart: ") {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the banner: {line:?}"))
            .to_owned();
        Self {
            child,
            url,
            _data: data,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server (the phone sees it gone).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
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
    let out = match rx.recv_timeout(Duration::from_mins(3)) {
        Ok(out) => out.expect("the browser run"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("the browser scenario {name} hung for 3 minutes");
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser scenario {name} failed ({}); run ./dev deps if playwright-core or chromium is missing:\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)))
}
