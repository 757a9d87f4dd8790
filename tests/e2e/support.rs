//! The end-to-end harness: a private X server (Xvfb), a private D-Bus session
//! with an unlocked gnome-keyring, and the real app in it, driven with real
//! pointer and keyboard events (xdotool). The app's test-only control
//! endpoint tells where an element is (`getBoundingClientRect`) and what the
//! page drew; screenshots go to target/e2e/.
//! Shared by tests/e2e.rs and benches/app.rs, which each use part of it.
//!
//! Size: the one harness (X server, keyring, the app, its control endpoint)
//! that every E2E test and the app benchmark share.
#![allow(dead_code)]

#[path = "headless.rs"]
mod headless;
#[allow(unused_imports)] // not every harness user starts its own server
pub use headless::HeadlessServer;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Desktop {
    xvfb: Child,
    dbus: Child,
    pub display: String,
    pub bus: String,
    pub home: tempfile::TempDir,
}

fn need(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "the E2E tests need `{tool}` (Debian package {package}); `./dev test` installs it"
    );
}

fn first_line(child: &mut Child, what: &str) -> String {
    let out = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    assert!(!line.trim().is_empty(), "{what} did not start");
    line.trim().to_owned()
}

impl Desktop {
    /// A 390×844 screen and a D-Bus session with an unlocked Secret Service.
    pub fn start() -> Self {
        need("Xvfb", "xvfb");
        need("xdotool", "xdotool");
        need("import", "imagemagick");
        need("dbus-daemon", "dbus");
        need("gnome-keyring-daemon", "gnome-keyring");
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "390x844x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let display = format!(":{}", first_line(&mut xvfb, "Xvfb"));
        let home = tempfile::tempdir().expect("temp home");
        let mut dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .env("HOME", home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let bus = first_line(&mut dbus, "dbus-daemon");
        // gnome-keyring creates and unlocks a login keyring with this password.
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon starts");
        keyring
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"livecart\n")
            .expect("unlock password");
        let _ = keyring.wait();
        Self {
            xvfb,
            dbus,
            display,
            bus,
            home,
        }
    }

    /// A command with this desktop's display, bus and home.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("HOME", self.home.path())
            .env("XDG_RUNTIME_DIR", self.home.path());
        c
    }

    pub fn xdotool(&self, args: &[&str]) {
        let ok = self
            .command("xdotool")
            .args(args)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "xdotool {args:?} failed");
    }

    pub fn screenshot(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
        std::fs::create_dir_all(&dir).expect("target/e2e");
        let path = dir.join(format!("{name}.png"));
        let ok = self
            .command("import")
            .args(["-window", "root"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "screenshot {name} failed");
        path
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.dbus.kill();
        let _ = self.xvfb.kill();
        let _ = self.dbus.wait();
        let _ = self.xvfb.wait();
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn center(&self) -> (i64, i64) {
        (
            (self.x + self.width / 2.0).round() as i64,
            (self.y + self.height / 2.0).round() as i64,
        )
    }
}

/// The app under test.
pub struct AppUnderTest<'d> {
    pub desktop: &'d Desktop,
    child: Child,
    control: String,
    pub data_dir: PathBuf,
    /// Everything the app printed (stdout after the control line, and stderr).
    output: std::sync::Arc<std::sync::Mutex<String>>,
}

impl<'d> AppUnderTest<'d> {
    pub fn start(desktop: &'d Desktop, extra: &[&str]) -> Self {
        Self::start_in(desktop, desktop.home.path().join("livecart-data"), extra)
    }

    /// The app on its own data directory (a fresh one seeds the demo world).
    pub fn start_in(desktop: &'d Desktop, data_dir: PathBuf, extra: &[&str]) -> Self {
        let mut child = desktop
            .command(env!("CARGO_BIN_EXE_livecart"))
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--e2e-control")
            .args(extra)
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("LIVECART_AUDIO", "off")
            .env("RUST_LOG", "info,livecart=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the app starts");
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let control = loop {
            let mut line = String::new();
            let n = stdout.read_line(&mut line).expect("app stdout");
            assert!(n > 0, "the app exited before serving its control endpoint");
            if let Some(url) = line.trim().strip_prefix("LIVECART_CONTROL=") {
                break url.to_owned();
            }
            output.lock().expect("lock").push_str(&line);
        };
        for mut stream in [
            Box::new(stdout) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .expect("lock")
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Self {
            desktop,
            child,
            control,
            data_dir,
            output,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> String {
        self.output.lock().expect("lock").clone()
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        let res = reqwest::blocking::get(format!("{}{path}", self.control)).ok()?;
        if !res.status().is_success() {
            return None;
        }
        res.json().ok()
    }

    /// The app's view and what the page drew; `Null` while the page is still loading.
    pub fn state(&self) -> Value {
        self.get("/state").unwrap_or(Value::Null)
    }

    /// The state, with capture→draw percentiles over frames drawn since
    /// `page_ms` (the page's clock, `state()["page"]["now"]`).
    pub fn state_since(&self, page_ms: f64) -> Value {
        self.get(&format!("/state?since={page_ms}"))
            .unwrap_or(Value::Null)
    }

    pub fn rect(&self, testid: &str) -> Option<Rect> {
        self.rect_nth(testid, 0)
    }

    /// The `nth` element with this testid on screen.
    pub fn rect_nth(&self, testid: &str, nth: usize) -> Option<Rect> {
        let v = self.get(&format!("/rect/{testid}?nth={nth}"))?;
        Some(Rect {
            x: v["screenX"].as_f64()? + v["x"].as_f64()?,
            y: v["screenY"].as_f64()? + v["y"].as_f64()?,
            width: v["width"].as_f64()?,
            height: v["height"].as_f64()?,
        })
    }

    /// A real click at the centre of the `nth` element with this testid.
    pub fn tap_nth(&self, testid: &str, nth: usize) {
        let r = self.wait_for(
            &format!("element {testid} #{nth}"),
            Duration::from_secs(10),
            |a| a.rect_nth(testid, nth),
        );
        let (x, y) = r.center();
        self.desktop
            .xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    }

    pub fn text_nth(&self, testid: &str, nth: usize) -> Option<String> {
        self.get(&format!("/rect/{testid}?nth={nth}"))
            .and_then(|v| v["text"].as_str().map(str::to_owned))
    }

    pub fn text(&self, testid: &str) -> Option<String> {
        self.get(&format!("/rect/{testid}"))
            .and_then(|v| v["text"].as_str().map(str::to_owned))
    }

    /// Polls the app until `check` holds, or fails with `what` after `within`.
    pub fn wait_for<T>(
        &self,
        what: &str,
        within: Duration,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(t) = check(self) {
                return t;
            }
            if start.elapsed() >= within {
                self.desktop
                    .screenshot(&format!("timeout-{}", what.replace(' ', "-")));
            }
            assert!(
                start.elapsed() < within,
                "timed out after {within:?} waiting for: {what}\nstate: {}\napp output (tail):\n{}",
                self.get("/state").unwrap_or_default(),
                tail(&self.output(), 40)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A real click (xdotool) at the centre of the element, once it stands
    /// still (a sheet sliding up moves its buttons for a moment).
    pub fn tap(&self, testid: &str) {
        let mut last: Option<Rect> = None;
        let r = self.wait_for(&format!("element {testid}"), Duration::from_secs(10), |a| {
            let now = a.rect(testid)?;
            let still =
                last.is_some_and(|l| (l.x - now.x).abs() < 0.5 && (l.y - now.y).abs() < 0.5);
            last = Some(now);
            still.then_some(now)
        });
        let (x, y) = r.center();
        self.desktop
            .xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    }

    /// Taps a text field and waits until it has the keyboard focus, so no
    /// keystroke lands elsewhere.
    pub fn focus(&self, testid: &str) {
        self.tap(testid);
        self.wait_for(&format!("{testid} focused"), Duration::from_secs(5), |a| {
            a.get(&format!("/rect/{testid}"))
                .filter(|v| v["focused"] == true)
        });
    }

    /// Types into a text field with real key presses and waits until the
    /// field holds all of it.
    pub fn fill(&self, testid: &str, text: &str) {
        self.focus(testid);
        self.type_text(text);
        let want = text.chars().count() as u64;
        self.wait_for(
            &format!("{testid} holds {want} characters"),
            Duration::from_secs(5),
            |a| {
                a.get(&format!("/rect/{testid}"))
                    .filter(|v| v["valueLength"].as_u64() == Some(want))
            },
        );
    }

    pub fn type_text(&self, text: &str) {
        self.desktop.xdotool(&["type", "--delay", "20", text]);
    }

    pub fn key(&self, key: &str) {
        self.desktop.xdotool(&["key", key]);
    }
}

impl Drop for AppUnderTest<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The app's whole log beside the screenshots, named after the test
        // (a failure prints only its tail; a pass, nothing).
        let test = std::thread::current()
            .name()
            .unwrap_or("app")
            .replace("::", "-");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{test}.log")), self.output());
    }
}

pub fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// What the page reported about the `index`th room of the feed (`state()`).
pub fn room_stats(state: &Value, index: usize) -> &Value {
    let room = state["view"]["rooms"][index].as_str().unwrap_or_default();
    &state["page"]["rooms"][room]
}

/// Picture loops the embedded server has recorded in this data directory.
pub fn picture_loops(data: &Path) -> usize {
    std::fs::read_dir(data.join("server/streams")).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "h264loop"))
            .count()
    })
}

/// The `p` percentile (0–1) of `v` (sorted in place); NaN for none.
pub fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

/// Memory (KiB) of `pid` and all its descendants (WebKit's web and network
/// processes): summed RSS (counts each shared library once per process) and
/// summed PSS (shared pages divided among the processes sharing them).
pub fn tree_mem_kib(pid: u32) -> (u64, u64) {
    let (mut rss, mut pss) = (0, 0);
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if let Ok(rollup) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) {
            let field = |name: &str| {
                rollup
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            rss += field("Rss:");
            pss += field("Pss:");
        }
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")) {
            stack.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    (rss, pss)
}

/// Sends `signal` (e.g. "STOP", "CONT", "KILL") to the process `pid`.
pub fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{signal} {pid} failed");
}

/// Bytes waiting to be read on each established loopback connection
/// accepted on `port` (what a stopped server has not read yet).
pub fn unread_on_port(port: u16) -> Vec<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
            let established = *f.get(3)? == "01";
            let rx = u64::from_str_radix(f.get(4)?.split(':').nth(1)?, 16).ok()?;
            (local_port == port && established).then_some(rx)
        })
        .collect()
}

pub fn tree_rss_kib(pid: u32) -> u64 {
    tree_mem_kib(pid).0
}
