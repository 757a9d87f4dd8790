-- Orders move on after payment (#7): the delivery steps, cancel before
-- shipping, refund after delivery. SQLite cannot change a CHECK in place,
-- so the table is rebuilt with the wider status set and the new columns.
CREATE TABLE orders_new (
    id               TEXT PRIMARY KEY NOT NULL,
    buyer_id         TEXT NOT NULL REFERENCES users(id),
    seller_id        TEXT NOT NULL REFERENCES users(id),
    room_id          TEXT NOT NULL REFERENCES rooms(id),
    room_title       TEXT NOT NULL DEFAULT '',
    product_id       TEXT NOT NULL REFERENCES products(id),
    sku_id           TEXT NOT NULL REFERENCES skus(id),
    product_name     TEXT NOT NULL,
    sku_name         TEXT NOT NULL,
    image_id         TEXT,
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    total_minor      INTEGER NOT NULL CHECK (total_minor = unit_price_minor * quantity),
    currency         TEXT NOT NULL CHECK (length(currency) = 3),
    flash_sale_id    TEXT REFERENCES flash_sales(id),
    address_json     TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('paid', 'packed', 'shipped', 'out_for_delivery',
                         'delivered', 'cancelled', 'refund_requested', 'refunded')),
    refund_reason    TEXT,
    delivered_at     TEXT,
    txn_id           TEXT NOT NULL REFERENCES ledger_txns(id),
    -- The refund's ledger transaction, once refunded or cancelled.
    refund_txn_id    TEXT REFERENCES ledger_txns(id),
    idempotency_key  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (buyer_id, idempotency_key)
);
INSERT INTO orders_new (id, buyer_id, seller_id, room_id, room_title, product_id, sku_id, product_name,
    sku_name, image_id, quantity, unit_price_minor, total_minor, currency, flash_sale_id, address_json,
    status, txn_id, idempotency_key, created_at, updated_at)
SELECT o.id, o.buyer_id, o.seller_id, o.room_id, COALESCE(r.title, ''), o.product_id, o.sku_id,
    o.product_name, o.sku_name, o.image_id, o.quantity, o.unit_price_minor, o.total_minor, o.currency,
    o.flash_sale_id, o.address_json, o.status, o.txn_id, o.idempotency_key, o.created_at, o.updated_at
FROM orders o LEFT JOIN rooms r ON r.id = o.room_id;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_buyer ON orders (buyer_id, created_at);
-- The demo's delivery clock looks for orders due to move on.
CREATE INDEX orders_moving ON orders (status, updated_at);

-- Every step an order went through (its timeline), oldest first.
CREATE TABLE order_events (
    order_id TEXT NOT NULL REFERENCES orders(id),
    seq      INTEGER NOT NULL CHECK (seq > 0),
    status   TEXT NOT NULL,
    at       TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
INSERT INTO order_events (order_id, seq, status, at) SELECT id, 1, 'paid', created_at FROM orders;
