//! A livecart server in its own process (`livecart --headless`, the demo
//! world), shared by the window tests (tests/e2e/support.rs), the browser
//! tests and the web bench (tests/web/harness.rs).
#![allow(dead_code)] // each harness uses part of it

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A livecart server in its own process (`livecart --headless`), for tests
/// that drive the room from outside the app (host API, a second viewer).
pub struct HeadlessServer {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl HeadlessServer {
    pub fn start(envs: &[(&str, &str)]) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), 0, envs)
    }

    /// A server on `dir`'s data and a given `port` (0: any): a restart of
    /// one stopped with [`HeadlessServer::stop`] comes back where it was.
    pub fn start_in(dir: tempfile::TempDir, port: u16, envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_livecart"))
            .args(["--headless", "--port", &port.to_string(), "--data-dir"])
            .arg(dir.path())
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.split_once(" at ").map(|(_, u)| u.trim().to_owned()))
            .expect("the server prints its URL");
        // Keep reading what it prints after the URL: closing the pipe early
        // made its next line fail (a CI run lost the server that way).
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Self { child, url, dir }
    }
}

impl HeadlessServer {
    /// Kills the server; its data directory stays (returned) for a restart.
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the URL")
    }
}

impl Drop for HeadlessServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
