//! Checks a keyring store by hand: `cargo run --example keyring_check -- keyutils`
//! (under `keyctl session`) or `-- secret-service` (under `dbus-run-session`
//! with an unlocked gnome-keyring). Saves, reads back and deletes a fake session.

fn main() {
    let choice = std::env::args().nth(1).unwrap_or_default();
    let vault = livecart::vault::Vault::open_with(&choice, "keyring-check");
    println!("store: {} (secure: {})", vault.kind, vault.is_secure());
    let session: livecart_core::protocol::rest::SessionResponse = serde_json::from_value(serde_json::json!({
        "access_token": "lca1.check", "access_expires_at": "2026-11-22T12:00:00Z",
        "refresh_token": "lcr1.check", "refresh_expires_at": "2026-12-22T12:00:00Z",
        "user": { "id": "019b76da-a801-715b-9d39-b5bf90ae8891", "username": "check", "name": "Check", "role": "viewer" }
    }))
    .expect("a session");
    vault.save(&session).expect("saved");
    let back = vault.load().expect("readable");
    println!("read back: {}", back.as_ref() == Some(&session));
    vault.clear().expect("deleted");
    println!(
        "after clear: {:?}",
        vault.load().expect("readable").map(|s| s.user.username)
    );
}
