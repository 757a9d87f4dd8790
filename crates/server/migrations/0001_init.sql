-- livecart server schema, v1. Ids are UUID v7 text; times are RFC 3339 UTC
-- text; money is integer minor units plus an ISO-4217 code.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'host', 'admin')),
    -- argon2id PHC string; never the password.
    password_hash TEXT NOT NULL,
    avatar_id     TEXT,
    created_at    TEXT NOT NULL
);

-- Refresh tokens are stored only as SHA-256 hashes: a stolen database file
-- yields no usable token. A family is one sign-in's chain of rotations.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE images (
    id           TEXT PRIMARY KEY NOT NULL,
    content_type TEXT NOT NULL,
    full         BLOB NOT NULL,
    thumb        BLOB NOT NULL
);

CREATE TABLE rooms (
    id                  TEXT PRIMARY KEY NOT NULL,
    host_id             TEXT NOT NULL REFERENCES users(id),
    title               TEXT NOT NULL,
    category            TEXT NOT NULL,
    cover_id            TEXT,
    -- JSON array of stream URLs; empty means the server's own /live/{id}.flv.
    stream_urls         TEXT NOT NULL DEFAULT '[]',
    status              TEXT NOT NULL CHECK (status IN ('scheduled', 'live', 'ended')),
    position            INTEGER NOT NULL DEFAULT 0,
    pinned_product_id   TEXT,
    pinned_at           TEXT,
    pinned_stream_time  TEXT,
    like_count          INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    created_at          TEXT NOT NULL
);

CREATE TABLE products (
    id          TEXT PRIMARY KEY NOT NULL,
    room_id     TEXT NOT NULL REFERENCES rooms(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    image_id    TEXT,
    position    INTEGER NOT NULL
);
CREATE INDEX products_room ON products(room_id, position);

CREATE TABLE skus (
    id           TEXT PRIMARY KEY NOT NULL,
    product_id   TEXT NOT NULL REFERENCES products(id),
    name         TEXT NOT NULL,
    price_minor  INTEGER NOT NULL CHECK (price_minor >= 0),
    currency     TEXT NOT NULL CHECK (length(currency) = 3),
    -- The database, not only the code, forbids selling what is not there.
    stock        INTEGER NOT NULL CHECK (stock >= 0),
    position     INTEGER NOT NULL
);
CREATE INDEX skus_product ON skus(product_id, position);

CREATE TABLE flash_sales (
    id              TEXT PRIMARY KEY NOT NULL,
    room_id         TEXT NOT NULL REFERENCES rooms(id),
    product_id      TEXT NOT NULL REFERENCES products(id),
    sku_id          TEXT NOT NULL REFERENCES skus(id),
    price_minor     INTEGER NOT NULL CHECK (price_minor >= 0),
    currency        TEXT NOT NULL,
    total_stock     INTEGER NOT NULL CHECK (total_stock >= 0),
    remaining_stock INTEGER NOT NULL CHECK (remaining_stock >= 0 AND remaining_stock <= total_stock),
    starts_at       TEXT NOT NULL,
    deadline        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('active', 'sold_out', 'ended'))
);
CREATE INDEX flash_sales_room ON flash_sales(room_id, state);

CREATE TABLE mutes (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    user_id TEXT NOT NULL,
    until   TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE gifts (
    id        TEXT PRIMARY KEY NOT NULL,
    name      TEXT NOT NULL,
    coins     INTEGER NOT NULL CHECK (coins > 0),
    animation TEXT NOT NULL,
    position  INTEGER NOT NULL
);
