//! Bodies of the `/v1` REST API. Requests reject unknown fields (a typo must
//! not be silently ignored); responses tolerate them (an older client must keep
//! working against a newer server).

use crate::Epoch;
use crate::ids::{FlashSaleId, GiftId, ImageId, MessageId, ProductId, RoomId, SkuId, UserId};
use crate::money::Money;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `GET /v1/feed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedResponse {
    pub rooms: Vec<RoomSummary>,
}

/// A room as shown on a feed page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub id: RoomId,
    pub title: String,
    pub category: String,
    pub host: HostInfo,
    pub cover: ImageRef,
    pub viewer_count: u64,
    /// Ways to play the stream, best first.
    pub streams: Vec<StreamUrl>,
    pub status: RoomStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub id: UserId,
    pub name: String,
    pub avatar: ImageRef,
}

/// A server image and its thumbnail; both URLs are immutable and cacheable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRef {
    pub id: ImageId,
    pub url: String,
    pub thumb_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamUrl {
    pub protocol: StreamProtocol,
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamProtocol {
    HttpFlv,
    Rtmp,
    Rtsp,
    Srt,
    Hls,
    Whep,
    /// The media origin's access units over WebSocket (`/live/{room}/au`,
    /// docs/video-path.md): for players that decode with WebCodecs.
    AccessUnits,
    /// Anything else, and any protocol a newer server names.
    #[serde(other)]
    Other,
}

impl StreamProtocol {
    /// Guesses the protocol from a URL's scheme and path.
    // The comparisons run on a lower-cased copy.
    #[allow(clippy::case_sensitive_file_extension_comparisons)]
    pub fn detect(url: &str) -> Self {
        let lower = url.to_ascii_lowercase();
        let path = lower.split(['?', '#']).next().unwrap_or("");
        if lower.starts_with("rtmp://") || lower.starts_with("rtmps://") {
            Self::Rtmp
        } else if lower.starts_with("rtsp://") || lower.starts_with("rtsps://") {
            Self::Rtsp
        } else if lower.starts_with("srt://") {
            Self::Srt
        } else if path.ends_with(".m3u8") {
            Self::Hls
        } else if path.ends_with(".flv") {
            Self::HttpFlv
        } else if path.contains("/whep") {
            Self::Whep
        } else {
            Self::Other
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomStatus {
    Scheduled,
    Live,
    Ended,
}

/// `GET /v1/rooms/{id}`: everything a late joiner needs, consistent with `seq`:
/// applying events with a higher `seq` of the same `epoch` on top of it yields
/// the live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSnapshot {
    pub room: RoomSummary,
    pub pinned: Option<Pin>,
    pub products: Vec<Product>,
    pub flash_sale: Option<FlashSale>,
    /// The last (at most 50) chat messages, oldest first.
    pub chat: Vec<ChatMessage>,
    pub viewer_count: u64,
    pub like_count: u64,
    pub seq: u64,
    pub epoch: Epoch,
    pub server_time: Timestamp,
}

/// The product the host is presenting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub product_id: ProductId,
    /// Server wall-clock time the host pinned it.
    pub pinned_at: Timestamp,
    /// Capture time, on the stream's own clock (the SEI capture time the
    /// player reads), of the picture the pin belongs to. A player shows the
    /// card when the video it displays reaches this time.
    pub stream_time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub description: String,
    pub image: ImageRef,
    pub skus: Vec<Sku>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sku {
    pub id: SkuId,
    /// The variant, e.g. "M · Black" or "250 g".
    pub name: String,
    pub price: Money,
    pub stock: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashSale {
    pub id: FlashSaleId,
    pub product_id: ProductId,
    pub sku_id: SkuId,
    pub price: Money,
    pub original_price: Money,
    pub total_stock: u32,
    pub remaining_stock: u32,
    pub starts_at: Timestamp,
    /// The server's deadline; clients count down against it, corrected by
    /// the server time carried on every event.
    pub deadline: Timestamp,
    pub state: FlashSaleState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashSaleState {
    Active,
    SoldOut,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: MessageId,
    pub user: UserRef,
    pub text: String,
    pub sent_at: Timestamp,
    /// The id the sender's app gave the message, so it can match its
    /// optimistic line with the broadcast one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<uuid::Uuid>,
}

/// A user as other users see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: UserId,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Host,
    Admin,
}

/// `GET /v1/gifts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftCatalog {
    pub gifts: Vec<Gift>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gift {
    pub id: GiftId,
    pub name: String,
    pub coins: u32,
    /// Name of the animation in the app's assets.
    pub animation: String,
}

/// `GET /v1/me/following`: the hosts the signed-in user follows. Follow with
/// `PUT /v1/me/following/{host_id}`, unfollow with `DELETE` (both 204, both
/// idempotent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowingResponse {
    pub hosts: Vec<UserId>,
}

/// `POST /v1/rooms/{id}/reports`: report a chat message to the moderators
/// (202; reporting the same message twice is one report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub message_id: MessageId,
    /// Free text, at most 200 characters.
    #[serde(default)]
    pub reason: String,
}

/// `POST /v1/session`: sign in with a (demo) account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub username: String,
    pub password: String,
}

/// `POST /v1/session/refresh`: trade a refresh token for a new pair. The old
/// refresh token stops working; presenting it again revokes the whole chain.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest { refresh_token: <redacted> }")
    }
}

/// Answer to sign-in and refresh. Tokens are secrets: `Debug` redacts them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResponse {
    pub access_token: String,
    pub access_expires_at: Timestamp,
    pub refresh_token: String,
    pub refresh_expires_at: Timestamp,
    pub user: Profile,
}

impl std::fmt::Debug for SessionResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionResponse")
            .field("access_token", &"<redacted>")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_token", &"<redacted>")
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("user", &self.user)
            .finish()
    }
}

/// The signed-in user, as they see themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: UserId,
    pub username: String,
    pub name: String,
    pub role: Role,
}

// ---- Host / admin API (`/v1/host/...`) ----

/// `POST /v1/host/rooms`: a room whose stream is any URL a player can open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRoomRequest {
    pub title: String,
    #[serde(default)]
    pub category: Option<String>,
    /// e.g. `rtmp://host/live/key` or `http://host/live/key.flv`. Empty means
    /// the server's own `/live/{room}.flv`.
    #[serde(default)]
    pub stream_urls: Vec<String>,
    /// Admins create rooms for a host; hosts create their own.
    #[serde(default)]
    pub host_id: Option<UserId>,
}

/// `POST /v1/host/rooms/{id}/products`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddProductRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub skus: Vec<NewSku>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSku {
    pub name: String,
    pub price: Money,
    pub stock: u32,
}

/// `POST /v1/host/rooms/{id}/pin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    pub product_id: ProductId,
    /// The stream's capture time of the moment to pin at; defaults to the
    /// server's clock (right for an encoder whose clock is in sync).
    #[serde(default)]
    pub stream_time: Option<Timestamp>,
}

/// `POST /v1/host/rooms/{id}/unpin`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnpinRequest {
    #[serde(default)]
    pub stream_time: Option<Timestamp>,
}

/// `POST /v1/host/rooms/{id}/flash-sales`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartFlashSaleRequest {
    pub product_id: ProductId,
    pub sku_id: SkuId,
    pub price: Money,
    pub stock: u32,
    pub duration_s: u32,
}

/// `POST /v1/host/rooms/{id}/mutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    pub user_id: UserId,
    pub duration_s: u32,
}

/// `POST /v1/host/rooms/{id}/notices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRequest {
    pub text: String,
}

/// `POST /v1/host/rooms/{id}/demo-gifts` (admin only): a demo fan sends a
/// gift from the catalog, as the demo world's bots do — for demos and the
/// end-to-end tests of gift animations. No coins move (paid gifts are
/// `POST /v1/rooms/{id}/gifts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoGiftRequest {
    /// The catalog name, e.g. "Rocket".
    pub gift: String,
    /// The fan's display name.
    pub sender: String,
}

/// `GET /v1/host/rooms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRoomsResponse {
    pub rooms: Vec<RoomSummary>,
}
