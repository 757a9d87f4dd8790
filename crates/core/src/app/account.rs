//! Who the viewer is: the saved session from the keyring, the sign-in
//! sheet, sign-in and sign-out (the tokens themselves: `crate::session`;
//! their refresh: `http.rs`).

use super::answer::Then;
use super::cmd::Cmd;
use super::{App, Call, Rooms, Shop, SignInSheet};
use crate::effects::{Effect, Method, StoreCommand, VaultCommand};
use crate::session::Session;
use jiff::Timestamp;
use livecart_protocol::rest::{SessionResponse, SignInRequest};

/// The account's events.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountEvent {
    /// The keyring's saved session (silent sign-in), if any.
    VaultLoaded(Option<Box<SessionResponse>>),
    /// The sign-in sheet, opened by hand (actions that need an account open it too).
    OpenSignIn,
    DismissSignIn,
    SignIn {
        username: String,
        password: String,
    },
    /// "Sign out" tapped: asks first (`SignOut` confirms, `CancelSignOut`).
    AskSignOut,
    CancelSignOut,
    SignOut,
}

impl App {
    /// The account's events.
    pub(super) fn on_account(&mut self, event: AccountEvent, now: Timestamp) -> Vec<Effect> {
        match event {
            AccountEvent::VaultLoaded(saved) => match saved {
                // A sign-in that finished first wins over the saved session.
                Some(s) if self.session.user().is_none() => {
                    self.session = Session::SignedIn(s);
                    let mut effects =
                        self.rooms_do(now, |_, st, cx| Rooms::authenticate_socket(st, cx));
                    effects.extend(self.run(
                        vec![Cmd::authed(
                            Method::Get,
                            "/v1/me/following",
                            None,
                            Then::Following,
                        )],
                        now,
                    ));
                    effects.extend(self.shop_do(now, |_, cx, _| Shop::load(cx)));
                    effects.extend(self.orders_do(now, |o, cx| o.start(cx)));
                    effects
                }
                _ => Vec::new(),
            },
            AccountEvent::OpenSignIn => {
                self.sign_in = Some(SignInSheet::default());
                Vec::new()
            }
            AccountEvent::DismissSignIn => {
                self.sign_in = None;
                Vec::new()
            }
            AccountEvent::SignIn { username, password } => {
                let sheet = self.sign_in.get_or_insert_with(SignInSheet::default);
                if username.trim().is_empty() || password.is_empty() {
                    sheet.error = Some("Enter your username and password".into());
                    return Vec::new();
                }
                sheet.busy = true;
                sheet.error = None;
                let body = serde_json::to_value(SignInRequest {
                    username: username.trim().to_owned(),
                    password,
                })
                .ok();
                vec![
                    self.requests
                        .http(Call::SignIn, Method::Post, "/v1/session", body, None),
                ]
            }
            AccountEvent::AskSignOut => {
                self.confirm_sign_out = self.session.user().is_some();
                Vec::new()
            }
            AccountEvent::CancelSignOut => {
                self.confirm_sign_out = false;
                Vec::new()
            }
            AccountEvent::SignOut => {
                self.confirm_sign_out = false;
                // The server ends the session too (its tokens stop working
                // at once); the app forgets it either way.
                let token = self.session.access_token(now).map(str::to_owned);
                let end = token.map(|t| {
                    self.requests
                        .http(Call::SignOut, Method::Delete, "/v1/session", None, Some(t))
                });
                self.session = Session::Anonymous;
                self.requests.forget_waiting();
                self.viewer.signed_out();
                self.shop.forget();
                self.message = Some("Signed out".into());
                let mut effects = vec![
                    Effect::Vault(VaultCommand::Clear),
                    Effect::Store(StoreCommand::ForgetUser),
                ];
                effects.extend(self.forget_orders());
                effects
                    .extend(self.rooms_do(now, |_, st, cx| Rooms::reconnect_anonymously(st, cx)));
                effects.extend(end);
                effects
            }
        }
    }
}
