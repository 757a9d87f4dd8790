-- The signed-in user's orders with their timelines, for offline (#7): one
-- row per order, replaced whole from the server's snapshot and events. The
-- server's base URL inside is stored as {server} (the embedded server's
-- port changes each launch). Sign-out deletes them.
CREATE TABLE orders_cache (
    user_id    TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (user_id, order_id)
) WITHOUT ROWID;
