//! The in-memory flash-sale gate: units not yet promised, so the buyers
//! who cannot get one hear so at once.

use crate::error::{ApiError, ApiResult};
use livecart_protocol::FlashSaleId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Flash-sale units not yet promised, counted in memory: when 2,000 buyers
/// tap at once for 100 units, the 1,900 who cannot get one are told so at
/// once instead of queueing for the database's single writer. The database's
/// guarded decrement stays the authority (the counter only ever errs high:
/// bots and grace-period orders that bypass it make it optimistic, and a
/// failed order gives its units back), so it can never cause an oversell.
/// One process owns the SQLite file; scaled out this becomes a shared counter.
#[derive(Debug, Default)]
pub struct FlashGate(Mutex<HashMap<FlashSaleId, i64>>);

/// Units taken from the gate; given back on drop unless `keep` is called.
pub struct Reservation<'a> {
    gate: &'a FlashGate,
    sale: FlashSaleId,
    qty: i64,
    kept: bool,
}

impl FlashGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FlashSaleId, i64>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes `qty` units, or refuses with the units left.
    pub async fn reserve<'a>(
        &'a self,
        db: &sqlx::SqlitePool,
        sale: FlashSaleId,
        qty: u32,
    ) -> ApiResult<Option<Reservation<'a>>> {
        let known = self.lock().contains_key(&sale);
        if !known {
            let left: Option<(i64, String)> =
                sqlx::query_as("SELECT remaining_stock, state FROM flash_sales WHERE id = ?")
                    .bind(sale.to_string())
                    .fetch_optional(db)
                    .await?;
            // An unknown sale is the transaction's to refuse (404).
            let Some((left, state)) = left else {
                return Ok(None);
            };
            let left = if state == "sold_out" { 0 } else { left };
            self.lock().entry(sale).or_insert(left);
        }
        let qty = i64::from(qty);
        let mut map = self.lock();
        let left = map.entry(sale).or_insert(0);
        if *left < qty {
            return Err(ApiError::OutOfStock {
                stock: u32::try_from((*left).max(0)).unwrap_or(0),
            });
        }
        *left -= qty;
        Ok(Some(Reservation {
            gate: self,
            sale,
            qty,
            kept: false,
        }))
    }
}

impl Reservation<'_> {
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.kept {
            *self.gate.lock().entry(self.sale).or_insert(0) += self.qty;
        }
    }
}
