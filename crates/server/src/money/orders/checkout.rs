//! `POST /v1/orders`: the reads before the writer, the early refusals, and
//! what the room is told after the commit. The payment itself is `pay`.

use super::addresses::AddressRow;
use super::pay::{Prepared, Priced, StockLeft, pay};
use super::pin::verify_pin;
use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::money::idempotency::{self, Claim, Key};
use crate::money::ledger::AccountKind;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use livecart_protocol::commerce::{Address, Order, PlaceOrderRequest};
use livecart_protocol::live::FlashSalePhase;
use livecart_protocol::rest::FlashSaleState;
use livecart_protocol::{Currency, Money, RoomEvent, RoomId, UserId};

pub async fn place_order(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    key: Key,
    Body(req): Body<PlaceOrderRequest>,
) -> ApiResult<Response> {
    if !(1..=99).contains(&req.quantity) {
        return Err(ApiError::BadRequest("quantity is 1 to 99".into()));
    }
    // The PIN authenticates the buyer; it is not a parameter of the payment:
    // a retry after an app restart (which never stores the PIN) is the same
    // request.
    let hash = idempotency::request_hash(
        "POST /v1/orders",
        &PlaceOrderRequest {
            pin: None,
            ..req.clone()
        },
    );
    let lease = idempotency::hold(&state, me.sub, &key, "POST /v1/orders", &hash)?;
    // A flash sale's gate first: when a sale sells out, the buyers it
    // refuses cost no reads (a retry of an order that went through still
    // gets that order: its key has a stored answer).
    let reservation = match req.flash_sale_id {
        Some(sale) => match state
            .flash_gate
            .reserve(&state.db, sale, req.quantity)
            .await
        {
            Ok(r) => r,
            Err(refusal) => {
                let stored = idempotency::stored(&state, me.sub, &key).await?;
                return match idempotency::settle(lease, stored)? {
                    Claim::Replay(res) => Ok(res),
                    Claim::Fresh(_) => Err(refusal),
                };
            }
        },
        None => None,
    };
    let mut reads = OrderReads::fetch(&state, me.sub, &key, &req).await?;
    let lease = match idempotency::settle(lease, reads.stored())? {
        Claim::Replay(res) => return Ok(res),
        Claim::Fresh(lease) => lease,
    };
    let result = async {
        // The step-up is decided on what the buyer saw; the transaction
        // below refuses if that is not the price.
        let seen_total = req
            .expected_unit_price
            .checked_mul(req.quantity)
            .map_err(|_| ApiError::BadRequest("amount out of range".into()))?;
        if seen_total.amount_minor >= state.config.money.pin_threshold_minor {
            verify_pin(&state, me.sub, req.pin.as_deref()).await?;
        }
        let prepared = prepare(&state, me.sub, &req, reads).await?;
        let record = lease.record();
        // Stock events go out in commit order, from the writer.
        let announced = {
            let (state, req) = (state.clone(), req.clone());
            move |(order, _, priced, _): &(Order, String, Priced, idempotency::Lease)| {
                announce(&state, &req, priced);
                state.me.publish(
                    me.sub,
                    livecart_protocol::me::MeEvent::Order {
                        order: Box::new(order.clone()),
                    },
                );
                if let Some(balance) = order.balance_after {
                    state
                        .me
                        .publish(me.sub, livecart_protocol::me::MeEvent::Wallet { balance });
                }
            }
        };
        let (st, key, rq) = (state.clone(), key.clone(), req.clone());
        // The lease rides with the payment and is let go only after the
        // commit: a retry while it waits for the writer is "still running"
        // (409), even if this request's client has gone.
        let (order, body, _, _lease) = state
            .payments
            .write(
                move |tx| {
                    Box::pin(async move {
                        let (order, body, priced) =
                            pay(&st, tx, me.sub, &key, &rq, prepared, &record).await?;
                        Ok((order, body, priced, lease))
                    })
                },
                announced,
            )
            .await?;
        if let Some(r) = reservation {
            r.keep();
        }
        ApiResult::Ok((order, body))
    }
    .await;
    let (order, body) = result?;
    tracing::info!(order = %order.id, total = %order.total, "order paid");
    Ok(idempotency::fresh_response(StatusCode::CREATED, body))
}

/// Everything an order reads before it queues for the writer, in one
/// statement (each statement is a round trip to sqlx's SQLite thread, and on
/// two busy cores the hops cost more than SQLite's work): the idempotency
/// key's stored answer, the SKU with its product and room, and the buyer's
/// address. Each part is NULL when absent — another product's SKU, another
/// user's or a deleted address read as none.
#[derive(sqlx::FromRow)]
struct OrderReads {
    key_endpoint: Option<String>,
    key_hash: Option<String>,
    key_status: Option<i64>,
    key_body: Option<String>,
    sku_name: Option<String>,
    price_minor: Option<i64>,
    currency: Option<String>,
    stock: Option<i64>,
    product_name: Option<String>,
    image_id: Option<String>,
    room_id: Option<String>,
    host_id: Option<String>,
    room_title: Option<String>,
    address_id: Option<String>,
    address_name: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    is_default: Option<bool>,
}

impl OrderReads {
    async fn fetch(
        state: &AppState,
        buyer: UserId,
        key: &Key,
        req: &PlaceOrderRequest,
    ) -> ApiResult<Self> {
        Ok(sqlx::query_as(
            "SELECT k.endpoint AS key_endpoint, k.request_hash AS key_hash, \
             k.response_status AS key_status, k.response_body AS key_body, \
             s.name AS sku_name, s.price_minor AS price_minor, s.currency AS currency, s.stock AS stock, \
             p.name AS product_name, p.image_id AS image_id, p.room_id AS room_id, \
             r.host_id AS host_id, r.title AS room_title, \
             a.id AS address_id, a.name AS address_name, a.line1 AS line1, a.line2 AS line2, \
             a.city AS city, a.region AS region, a.postal_code AS postal_code, \
             a.country AS country, a.phone AS phone, a.is_default AS is_default \
             FROM (SELECT 1) \
             LEFT JOIN idempotency_keys k ON k.user_id = ?1 AND k.key = ?2 \
             LEFT JOIN skus s ON s.id = ?3 \
             LEFT JOIN products p ON p.id = s.product_id AND p.id = ?4 \
             LEFT JOIN rooms r ON r.id = p.room_id \
             LEFT JOIN addresses a ON a.id = ?5 AND a.user_id = ?1 AND a.deleted = 0",
        )
        .bind(buyer.to_string())
        .bind(&key.0)
        .bind(req.sku_id.to_string())
        .bind(req.product_id.to_string())
        .bind(req.address_id.to_string())
        .fetch_one(&state.db)
        .await?)
    }

    /// The key's stored answer, if it finished before.
    fn stored(&mut self) -> Option<idempotency::Stored> {
        Some((
            self.key_endpoint.take()?,
            self.key_hash.take()?,
            self.key_status.take()?,
            self.key_body.take()?,
        ))
    }

    fn address(&mut self) -> anyhow::Result<Option<Address>> {
        let Some(id) = self.address_id.take() else {
            return Ok(None);
        };
        let field = |f: &mut Option<String>| f.take().unwrap_or_default();
        let row = AddressRow {
            id,
            name: field(&mut self.address_name),
            line1: field(&mut self.line1),
            line2: field(&mut self.line2),
            city: field(&mut self.city),
            region: field(&mut self.region),
            postal_code: field(&mut self.postal_code),
            country: field(&mut self.country),
            phone: field(&mut self.phone),
            is_default: self.is_default.unwrap_or(false),
        };
        Ok(Some(row.into_address()?))
    }
}

/// Refuses early on what [`OrderReads`] found (no product, a price that is
/// not the buyer's, too little stock, no such address of theirs); the
/// payment's guarded update is what decides.
async fn prepare(
    state: &AppState,
    buyer: UserId,
    req: &PlaceOrderRequest,
    mut r: OrderReads,
) -> ApiResult<Prepared> {
    let address = r.address()?;
    let (
        Some(sku_name),
        Some(price),
        Some(cur),
        Some(stock),
        Some(product_name),
        Some(room),
        Some(seller),
        Some(room_title),
    ) = (
        r.sku_name,
        r.price_minor,
        r.currency,
        r.stock,
        r.product_name,
        r.room_id,
        r.host_id,
        r.room_title,
    )
    else {
        return Err(ApiError::NotFound("product"));
    };
    let currency: Currency = crate::db::parse(&cur, "currency")?;
    let regular = Money::new(price, currency);
    // Bought in a live: not before it starts, not after it ends.
    let room_id: RoomId = crate::db::parse(&room, "room id")?;
    match state
        .rooms
        .get(room_id)
        .map(|r| r.read(|st| st.snap.room.status))
    {
        Some(livecart_protocol::rest::RoomStatus::Live) => {}
        Some(livecart_protocol::rest::RoomStatus::Ended) | None => {
            return Err(ApiError::Conflict(
                "this live has ended: its products can't be bought here now".into(),
            ));
        }
        Some(livecart_protocol::rest::RoomStatus::Scheduled) => {
            return Err(ApiError::Conflict(
                "this live hasn't started yet: its products can be bought once it does".into(),
            ));
        }
    }
    if req.quantity == 0 || req.expected_unit_price.amount_minor <= 0 {
        return Err(ApiError::BadRequest(
            "an order is for at least one piece at a price above zero".into(),
        ));
    }
    if req.flash_sale_id.is_none() {
        if regular != req.expected_unit_price {
            return Err(ApiError::PriceChanged { price: regular });
        }
        if stock < i64::from(req.quantity) {
            return Err(ApiError::OutOfStock {
                stock: u32::try_from(stock).unwrap_or(0),
            });
        }
    }
    let address = address.ok_or(ApiError::NotFound("address"))?;
    let seller: UserId = crate::db::parse(&seller, "host id")?;
    let account = |kind, owner| {
        state
            .accounts
            .get(&state.db, &state.writer, kind, Some(owner), currency)
    };
    Ok(Prepared {
        wallet: account(AccountKind::Wallet, buyer).await?,
        payable: account(AccountKind::MerchantPayable, seller).await?,
        room: room_id,
        room_title,
        seller,
        sku_name,
        product_name,
        image_id: r.image_id,
        regular,
        address,
    })
}

/// Tells the room what is left.
fn announce(state: &AppState, req: &PlaceOrderRequest, priced: &Priced) {
    let Some(room) = state.rooms.get(priced.room) else {
        return;
    };
    match priced.stock_left {
        StockLeft::Sku(stock) => {
            room.publish(RoomEvent::Stock {
                product_id: req.product_id,
                sku_id: req.sku_id,
                stock,
            });
        }
        StockLeft::Sale {
            remaining,
            sold_out,
        } => {
            // Only a sale the room still shows: a grace-period order after
            // the deadline must not bring an ended sale back on screen.
            let Some(mut sale) = room
                .read(|st| st.snap.flash_sale.clone())
                .filter(|s| Some(s.id) == req.flash_sale_id && s.state == FlashSaleState::Active)
            else {
                return;
            };
            sale.remaining_stock = remaining;
            let phase = if sold_out {
                sale.state = FlashSaleState::SoldOut;
                FlashSalePhase::Ended
            } else {
                FlashSalePhase::Stock
            };
            room.publish(RoomEvent::FlashSale { phase, sale });
        }
    }
}
