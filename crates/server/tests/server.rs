//! Integration tests: a real server on 127.0.0.1:0 with a real SQLite file,
//! driven by real HTTP and tokio-tungstenite WebSocket clients.
// A test crate's root resolves modules beside itself; ours live in server/.
// They sign in with the demo world's accounts.
#![cfg(feature = "demo")]

#[path = "server/support.rs"]
mod support;

#[path = "server/after_sales.rs"]
mod after_sales;
#[path = "server/browser_session.rs"]
mod browser_session;
#[path = "server/connections.rs"]
mod connections;
#[path = "server/crash.rs"]
mod crash;
#[path = "server/host.rs"]
mod host;
#[path = "server/live.rs"]
mod live;
#[path = "server/money.rs"]
mod money;
#[path = "server/origin.rs"]
mod origin;
#[path = "server/rest.rs"]
mod rest;
#[path = "server/social.rs"]
mod social;
#[path = "server/web_app.rs"]
mod web_app;
