//! View models: exactly what the screens render, already formatted. Screens
//! hold no logic beyond laying these out.

use crate::app::{App, Pending};
use crate::feed::PlayerStatus;
use crate::room::Link;

#[derive(Debug, Clone, PartialEq)]
pub struct ViewModel {
    pub pages: Vec<PageView>,
    pub index: usize,
    pub loading: bool,
    pub error: Option<String>,
    pub room: Option<RoomView>,
    /// The signed-in user's display name.
    pub user: Option<String>,
    pub message: Option<String>,
    pub sign_in: Option<SignInView>,
    pub muted: bool,
    /// The grid of live rooms is on screen (the viewer closed the room).
    pub browsing: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignInView {
    /// Why the sheet opened: "Sign in to chat", "Sign in to follow mia".
    pub reason: String,
    pub busy: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // flat flags are what the screen reads
pub struct PageView {
    /// The room's id: the video view asks the app for this room's pictures.
    pub room_id: String,
    pub title: String,
    pub host: String,
    pub host_avatar_url: String,
    pub cover_url: String,
    /// "1.2k watching".
    pub viewers: String,
    /// "1.2k", for the room's crowded top bar.
    pub viewer_count: String,
    /// "LIVE · 0.3 s behind", "Connecting…", "Reconnecting…", "This live has ended".
    pub badge: String,
    pub spinner: bool,
    pub error: Option<String>,
    /// Video is on screen (the cover can go).
    pub video: bool,
    /// A player exists (playing or preloaded): the page shows a video view.
    pub has_player: bool,
    pub following: bool,
    /// "30 fps · 31 ms capture→draw" when the debug overlay is on.
    pub debug: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoomView {
    pub likes: String,
    pub viewers: String,
    /// "reconnecting…" while the live connection is down.
    pub banner: Option<String>,
    pub pinned: Option<String>,
    pub chat: Vec<(String, String)>,
}

/// 950 → "950", 1_240 → "1.2k", 18_600 → "18.6k", 2_300_000 → "2.3M".
pub fn compact(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3).replace(".0k", "k"),
        _ => format!("{:.1}M", n as f64 / 1e6).replace(".0M", "M"),
    }
}

pub(crate) fn build(app: &App) -> ViewModel {
    let pages = app
        .feed
        .rooms
        .iter()
        .map(|r| {
            let slot = app.feed.players.get(&r.id);
            let status = slot.map(|s| &s.status);
            let (badge, spinner, error) = match status {
                None | Some(PlayerStatus::Connecting) => ("Connecting…".to_owned(), true, None),
                Some(PlayerStatus::Playing {
                    behind_ms: Some(ms),
                }) => (
                    format!("LIVE · {:.1} s behind", f64::from(*ms) / 1000.0),
                    false,
                    None,
                ),
                Some(PlayerStatus::Playing { behind_ms: None }) => ("LIVE".to_owned(), false, None),
                Some(PlayerStatus::Stalled | PlayerStatus::Reconnecting) => {
                    ("Reconnecting…".to_owned(), true, None)
                }
                Some(PlayerStatus::Ended) => ("This live has ended".to_owned(), false, None),
                Some(PlayerStatus::Failed(m)) => {
                    ("Can't play this live".to_owned(), false, Some(m.clone()))
                }
            };
            PageView {
                room_id: r.id.to_string(),
                title: r.title.clone(),
                host: r.host.name.clone(),
                host_avatar_url: r.host.avatar.thumb_url.clone(),
                cover_url: r.cover.url.clone(),
                viewers: format!("{} watching", compact(r.viewer_count)),
                viewer_count: compact(r.viewer_count),
                badge,
                spinner,
                error,
                video: slot.is_some_and(|s| s.first_frame),
                has_player: slot.is_some(),
                following: app.following.contains(&r.host.id),
                debug: app.debug.then(|| match slot.and_then(|s| s.drawn) {
                    Some(d) => format!("{:.0} fps · {} ms capture→draw", d.fps, d.latency_p95_ms),
                    None => "no frames drawn".to_owned(),
                }),
            }
        })
        .collect();
    let room = app.room.as_ref().map(|live| {
        let state = live.state.as_ref();
        RoomView {
            likes: compact(state.map_or(0, |s| s.like_count)),
            viewers: compact(state.map_or(0, |s| s.viewer_count)),
            banner: matches!(live.link, Link::Reconnecting { .. })
                .then(|| "reconnecting…".to_owned()),
            pinned: state.and_then(|s| {
                let pin = s.pinned.as_ref()?;
                let p = s.products.iter().find(|p| p.id == pin.product_id)?;
                let price = p
                    .skus
                    .first()
                    .map(|k| k.price.to_string())
                    .unwrap_or_default();
                Some(format!("{} · {price}", p.name))
            }),
            chat: state
                .map(|s| {
                    s.chat
                        .iter()
                        .map(|m| (m.user.name.clone(), m.text.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    });
    ViewModel {
        pages,
        index: app.feed.index,
        loading: app.feed.loading,
        error: app.feed.error.clone(),
        room,
        user: app.session.user().map(|u| u.name.clone()),
        message: app.message.clone(),
        sign_in: app.sign_in.as_ref().map(|sheet| SignInView {
            reason: match &sheet.pending {
                Some(Pending::Chat(_)) => "Sign in to chat".to_owned(),
                Some(Pending::Follow) => match app.feed.current() {
                    Some(r) => format!("Sign in to follow {}", r.host.name),
                    None => "Sign in to follow".to_owned(),
                },
                None => "Sign in to livecart".to_owned(),
            },
            busy: sheet.busy,
            error: sheet.error.clone(),
        }),
        muted: app.muted,
        browsing: app.feed.browsing,
    }
}
