-- Money: a double-entry ledger, idempotency keys, top-ups, addresses,
-- orders and paid gifts. Amounts are integer minor units; an account holds
-- one currency. docs/money.md explains the flows.

-- Who can hold money. Wallets, host earnings and merchant payables belong to
-- a user; the platform's revenue and the top-up clearing account (the outside
-- world's side of every top-up) belong to nobody.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN
                    ('wallet', 'host_earnings', 'merchant_payable', 'platform', 'topup_clearing')),
    owner_id      TEXT REFERENCES users(id),
    currency      TEXT NOT NULL CHECK (length(currency) = 3),
    -- Kept equal to the sum of the account's entries by the trigger below;
    -- `ledger check` verifies it. Only the clearing account, which mirrors
    -- money that came in from outside, may go below zero: the database
    -- itself refuses an overdrawn wallet.
    balance_minor INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    CHECK (balance_minor >= 0 OR kind = 'topup_clearing'),
    CHECK ((owner_id IS NULL) = (kind IN ('platform', 'topup_clearing')))
);
CREATE UNIQUE INDEX accounts_owned ON accounts (kind, owner_id, currency) WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX accounts_system ON accounts (kind, currency) WHERE owner_id IS NULL;

-- One movement of money: its entries sum to zero.
CREATE TABLE ledger_txns (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('top_up', 'order', 'gift', 'demo_credit', 'refund')),
    -- The order, gift send or top-up this pays for.
    reference_id TEXT,
    description  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE ledger_entries (
    id            INTEGER PRIMARY KEY,
    txn_id        TEXT NOT NULL REFERENCES ledger_txns(id),
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    amount_minor  INTEGER NOT NULL CHECK (amount_minor != 0),
    -- The account's balance right after this entry (for the history view).
    balance_after INTEGER NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_txn ON ledger_entries (txn_id);

-- Posting an entry moves the balance; an entry that would overdraw an
-- account fails the accounts CHECK and aborts the whole transaction.
CREATE TRIGGER ledger_entries_post AFTER INSERT ON ledger_entries
BEGIN
    UPDATE accounts SET balance_minor = balance_minor + NEW.amount_minor WHERE id = NEW.account_id;
END;
-- The ledger is append-only: corrections are new transactions.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

-- Idempotency keys (Stripe's semantics), per user: the response of a
-- finished request, written in the same transaction as the money it moved,
-- so a crash leaves either both or neither. A refusal that moved nothing
-- stores nothing. A duplicate that arrives while the first is still running
-- is refused from memory by the (one) server process.
CREATE TABLE idempotency_keys (
    user_id         TEXT NOT NULL REFERENCES users(id),
    key             TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

ALTER TABLE users ADD COLUMN payment_pin_hash TEXT;
ALTER TABLE users ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN pin_locked_until TEXT;

CREATE TABLE top_ups (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users(id),
    amount_minor   INTEGER NOT NULL CHECK (amount_minor > 0),
    currency       TEXT NOT NULL CHECK (length(currency) = 3),
    card_last4     TEXT NOT NULL,
    -- What the demo provider will answer, and when.
    outcome        TEXT NOT NULL CHECK (outcome IN ('succeed', 'decline', 'late')),
    confirm_after  TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'declined')),
    decline_reason TEXT,
    txn_id         TEXT REFERENCES ledger_txns(id),
    created_at     TEXT NOT NULL,
    CHECK ((status = 'succeeded') = (txn_id IS NOT NULL))
);
CREATE INDEX top_ups_user ON top_ups (user_id, created_at);
CREATE INDEX top_ups_pending ON top_ups (status) WHERE status = 'pending';

CREATE TABLE addresses (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    line1       TEXT NOT NULL,
    line2       TEXT NOT NULL DEFAULT '',
    city        TEXT NOT NULL,
    region      TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL,
    country     TEXT NOT NULL CHECK (length(country) = 2),
    phone       TEXT NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0,
    deleted     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX addresses_user ON addresses (user_id);
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default = 1 AND deleted = 0;

CREATE TABLE orders (
    id               TEXT PRIMARY KEY NOT NULL,
    buyer_id         TEXT NOT NULL REFERENCES users(id),
    seller_id        TEXT NOT NULL REFERENCES users(id),
    room_id          TEXT NOT NULL REFERENCES rooms(id),
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
    -- The address as it was at checkout (JSON): editing it later does not
    -- change where a paid order goes.
    address_json     TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
    txn_id           TEXT NOT NULL REFERENCES ledger_txns(id),
    idempotency_key  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (buyer_id, idempotency_key)
);
CREATE INDEX orders_buyer ON orders (buyer_id, created_at);

CREATE TABLE gift_sends (
    id              TEXT PRIMARY KEY NOT NULL,
    sender_id       TEXT NOT NULL REFERENCES users(id),
    room_id         TEXT NOT NULL REFERENCES rooms(id),
    host_id         TEXT NOT NULL REFERENCES users(id),
    gift_id         TEXT NOT NULL REFERENCES gifts(id),
    count           INTEGER NOT NULL CHECK (count > 0),
    combo_id        TEXT NOT NULL,
    cost_minor      INTEGER NOT NULL CHECK (cost_minor > 0),
    currency        TEXT NOT NULL,
    txn_id          TEXT NOT NULL REFERENCES ledger_txns(id),
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (sender_id, idempotency_key)
);
CREATE INDEX gift_sends_combo ON gift_sends (sender_id, combo_id);
