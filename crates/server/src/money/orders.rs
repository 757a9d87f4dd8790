//! Addresses and orders.
//!
//! - `GET /v1/me/addresses`, `POST` a new one, `PUT`/`DELETE
//!   /v1/me/addresses/{id}`: the caller's own only; anyone else's is 404.
//! - `POST /v1/orders` (Idempotency-Key) → 201 with the paid order. In one
//!   transaction: the server's price (409 `price_changed` if the buyer saw
//!   another), the stock (a guarded decrement: 409 `out_of_stock`, never
//!   oversold), the wallet (402 `insufficient_funds`), the ledger (buyer's
//!   wallet → the seller's payable), the order row and the stored response.
//! - Flash sales: a tap made before the deadline as the buyer saw it — the
//!   request says how far behind live the buyer's video was — is honoured up
//!   to `flash_grace_ms` (≤ 3 s) after the deadline; later, 409 `sale_ended`.
//! - `GET /v1/orders`, `GET /v1/orders/{id}`: the caller's own only.

mod addresses;
mod checkout;
mod gate;
mod pay;
mod pin;
pub mod tracking;

#[cfg(feature = "demo")]
pub use addresses::save_address;
pub use addresses::{create_address, delete_address, list_addresses, update_address};
pub use checkout::place_order;
pub use gate::FlashGate;
