//! The OS keyring: the only place the session (access + refresh token) is
//! kept. One entry per server, holding the session as JSON.
//!
//! Stores (keyring-core + a store crate per platform): on Linux the Secret
//! Service (gnome-keyring, KWallet) when a D-Bus session offers one, else the
//! kernel's keyutils session keyring; Keychain on macOS/iOS, the Android
//! keystore, Windows Credential Manager. Where none works the app says so
//! once and keeps the session in memory only — never in a file.

use keyring_core::api::CredentialStoreApi;
use keyring_core::{CredentialStore, Entry, Error};
use livecart_core::AccountEvent;
use livecart_core::Event;
use livecart_core::effects::VaultCommand;
use livecart_core::protocol::rest::SessionResponse;
use std::sync::Arc;

const SERVICE: &str = "livecart";

#[derive(Clone)]
pub struct Vault {
    store: Option<Arc<CredentialStore>>,
    /// Which store, for the log and the "no keyring" notice.
    pub kind: &'static str,
    /// The entry's user name: the server this session belongs to.
    account: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({}, {})", self.kind, self.account)
    }
}

impl Vault {
    /// Picks the best store that works here. `LIVECART_KEYRING` = `secret-service`,
    /// `keyutils` or `none` overrides the choice.
    pub fn open(account: &str) -> Self {
        let choice = std::env::var("LIVECART_KEYRING").unwrap_or_default();
        Self::open_with(&choice, account)
    }

    /// `choice`: `secret-service`, `keyutils`, `none`, or empty for the best available.
    pub fn open_with(choice: &str, account: &str) -> Self {
        let (store, kind) = pick(choice);
        Self {
            store,
            kind,
            account: account.to_owned(),
        }
    }

    /// No keyring: the session stays in memory only.
    pub fn open_none() -> Self {
        Self {
            store: None,
            kind: "memory only",
            account: String::new(),
        }
    }

    pub fn is_secure(&self) -> bool {
        self.store.is_some()
    }

    fn entry(&self) -> Option<Result<Entry, Error>> {
        self.store
            .as_ref()
            .map(|s| s.build(SERVICE, &self.account, None))
    }

    /// The saved session, if any. A damaged entry is deleted.
    pub fn load(&self) -> Result<Option<SessionResponse>, Error> {
        let Some(entry) = self.entry() else {
            return Ok(None);
        };
        let entry = entry?;
        match entry.get_password() {
            Ok(json) => {
                if let Ok(session) = serde_json::from_str(&json) {
                    Ok(Some(session))
                } else {
                    tracing::warn!("the saved session in the keyring was unreadable; removed it");
                    let _ = entry.delete_credential();
                    Ok(None)
                }
            }
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, session: &SessionResponse) -> Result<(), Error> {
        let Some(entry) = self.entry() else {
            return Ok(());
        };
        let json = serde_json::to_string(session)
            .map_err(|e| Error::Invalid("session".into(), e.to_string()))?;
        entry?.set_password(&json)
    }

    pub fn clear(&self) -> Result<(), Error> {
        let Some(entry) = self.entry() else {
            return Ok(());
        };
        match entry?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(target_os = "linux")]
fn pick(choice: &str) -> (Option<Arc<CredentialStore>>, &'static str) {
    let secret_service = || -> Option<Arc<CredentialStore>> {
        let store = zbus_secret_service_keyring_store::Store::new().ok()?;
        // A reachable service can still be unusable (no unlocked collection): probe it.
        let probe = store.build(SERVICE, "probe", None).ok()?;
        match probe.get_password() {
            Ok(_) | Err(Error::NoEntry) => Some(store),
            Err(e) => {
                tracing::info!("Secret Service is not usable here ({e})");
                None
            }
        }
    };
    let keyutils = || -> Option<Arc<CredentialStore>> {
        let store = linux_keyutils_keyring_store::Store::new().ok()?;
        let probe = store.build(SERVICE, "probe", None).ok()?;
        match probe.get_password() {
            Ok(_) | Err(Error::NoEntry) => Some(store),
            Err(e) => {
                tracing::info!("the kernel keyring is not usable here ({e})");
                None
            }
        }
    };
    match choice {
        "none" => (None, "memory only"),
        "keyutils" => (keyutils(), "kernel keyutils"),
        "secret-service" => (secret_service(), "Secret Service"),
        _ => match secret_service() {
            Some(s) => (Some(s), "Secret Service"),
            None => (keyutils(), "kernel keyutils"),
        },
    }
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
fn pick(choice: &str) -> (Option<Arc<CredentialStore>>, &'static str) {
    if choice == "none" {
        return (None, "memory only");
    }
    (
        apple_native_keyring_store::keychain::Store::new()
            .ok()
            .map(|s| s as Arc<CredentialStore>),
        "Keychain",
    )
}

#[cfg(target_os = "android")]
fn pick(choice: &str) -> (Option<Arc<CredentialStore>>, &'static str) {
    if choice == "none" {
        return (None, "memory only");
    }
    (
        android_native_keyring_store::Store::new()
            .ok()
            .map(|s| s as Arc<CredentialStore>),
        "Android keystore",
    )
}

#[cfg(target_os = "windows")]
fn pick(choice: &str) -> (Option<Arc<CredentialStore>>, &'static str) {
    if choice == "none" {
        return (None, "memory only");
    }
    (
        windows_native_keyring_store::Store::new()
            .ok()
            .map(|s| s as Arc<CredentialStore>),
        "Credential Manager",
    )
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "android",
    target_os = "windows"
)))]
fn pick(_: &str) -> (Option<Arc<CredentialStore>>, &'static str) {
    (None, "memory only")
}

/// Runs keyring commands one after another on their own thread (the stores
/// block: D-Bus round trips, kernel calls).
pub fn worker(
    vault: Vault,
    events: tokio::sync::mpsc::UnboundedSender<Event>,
) -> std::sync::mpsc::Sender<VaultCommand> {
    let (tx, rx) = std::sync::mpsc::channel::<VaultCommand>();
    let spawned = std::thread::Builder::new()
        .name("livecart-keyring".into())
        .spawn(move || {
            for cmd in rx {
                match cmd {
                    VaultCommand::Load => {
                        let saved = vault.load().unwrap_or_else(|e| {
                            tracing::warn!("the keyring could not be read ({e})");
                            None
                        });
                        let _ = events.send(Event::Account(AccountEvent::VaultLoaded(saved.map(Box::new))));
                    }
                    VaultCommand::Store(session) => {
                        if let Err(e) = vault.save(&session) {
                            tracing::warn!("the keyring refused the session ({e})");
                            let _ = events.send(Event::Notice(
                                "Couldn't save your sign-in to the keyring: you'll stay signed in until you close livecart".into(),
                            ));
                        }
                    }
                    VaultCommand::Clear => {
                        if let Err(e) = vault.clear() {
                            tracing::warn!("the keyring entry could not be deleted ({e})");
                        }
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("no keyring worker ({e}): the session stays in memory");
    }
    tx
}
