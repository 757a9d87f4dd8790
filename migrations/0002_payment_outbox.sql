-- Payments written before they are sent (livecart-core's checkout): each
-- row is one payment and its Idempotency-Key. A row is deleted when the
-- server gave a definite answer; rows left by a crash or a lost connection
-- are sent again, with the same key, after the next sign-in. Bodies hold no
-- PIN and no token. Not a cache: sign-out keeps them (they are finished
-- when that user signs in again).
CREATE TABLE payment_outbox (
    key        TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX payment_outbox_user ON payment_outbox (user_id, created_at);
