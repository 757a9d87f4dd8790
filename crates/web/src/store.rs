//! The browser's local store: IndexedDB (assets/web.js, `livecartStore`),
//! what the desktop keeps in SQLite (src/store.rs) — the feed seen last,
//! each user's orders for offline, the payment outbox — and who was signed
//! in (the profile only: tokens are never written here; the refresh token
//! lives in the HttpOnly cookie, the access token in memory).

use dioxus::prelude::{document, spawn};
use futures_channel::mpsc::UnboundedSender;
use livecart_core::effects::{PendingPayment, StoreCommand};
use livecart_core::protocol::rest::SessionResponse;
use livecart_core::{Event, FeedEvent, OrdersEvent, ShopEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// `livecartStore.<call>(...args)`; its answer (`null` when it failed).
async fn call(call: &str, args: Value) -> Value {
    // Arguments as JSON: nothing typed by anyone is spliced into code.
    let js = format!("return await window.livecartStore.{call}(...{args});");
    match document::eval(&js).join::<Value>().await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("local store: {call} failed ({e})");
            Value::Null
        }
    }
}

async fn get<T: DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_value(call("get", json!([key])).await).ok()
}

async fn put(key: &str, value: &impl Serialize) {
    if let Ok(v) = serde_json::to_value(value) {
        call("put", json!([key, v])).await;
    }
}

async fn del_prefix(prefix: &str) {
    call("delPrefix", json!([prefix])).await;
}

fn orders_key(user: impl std::fmt::Display) -> String {
    format!("orders:{user}")
}

/// Carries out one store command; answers as the desktop's store does.
pub fn run(cmd: StoreCommand, events: UnboundedSender<Event>) {
    let send = move |e: Event| {
        let _ = events.unbounded_send(e);
    };
    spawn(async move {
        match cmd {
            StoreCommand::LoadFeed => {
                send(Event::Feed(FeedEvent::CacheLoaded(
                    get("feed").await.map(Box::new),
                )));
            }
            StoreCommand::SaveFeed(feed) => put("feed", &feed).await,
            StoreCommand::ForgetUser => {
                del_prefix("orders:").await;
                forget().await;
            }
            StoreCommand::SavePayment(p) => {
                put(&format!("outbox:{}", p.key), &p).await;
                send(Event::Shop(ShopEvent::PaymentSaved(p.key)));
            }
            StoreCommand::ResolvePayment(key) => {
                call("del", json!([format!("outbox:{key}")])).await;
            }
            StoreCommand::LoadPayments(user) => {
                let all: Vec<PendingPayment> =
                    serde_json::from_value(call("list", json!(["outbox:"])).await)
                        .unwrap_or_default();
                let mine = all.into_iter().filter(|p| p.user == user).collect();
                send(Event::Shop(ShopEvent::PaymentsLoaded(mine)));
            }
            StoreCommand::SaveOrders { user, orders } => put(&orders_key(user), &orders).await,
            StoreCommand::LoadOrders(user) => {
                let orders = get(&orders_key(user)).await.unwrap_or_default();
                send(Event::Orders(OrdersEvent::Cached(orders)));
            }
        }
    });
}

/// Who is signed in, without the tokens: what a reload without the server
/// shows (the cached orders) until the session can be refreshed.
pub async fn remember(session: &SessionResponse) {
    let mut who = session.clone();
    who.access_token.clear();
    who.refresh_token.clear();
    put("who", &who).await;
}

pub async fn forget() {
    call("del", json!(["who"])).await;
}

/// The signed-in user kept by [`remember`]; its access token is empty and
/// counts as expired, so the first call refreshes it.
pub async fn recall() -> Option<SessionResponse> {
    let mut who: SessionResponse = get("who").await?;
    who.access_expires_at = jiff::Timestamp::UNIX_EPOCH;
    Some(who)
}
