//! Everything that moves money: the double-entry ledger and its one writer,
//! idempotency keys, the wallet (top-ups), paid gifts, and orders from
//! checkout to delivery.

pub mod gifts;
pub mod idempotency;
pub mod ledger;
pub mod orders;
pub mod provider;
pub mod wallet;
pub mod writer;
