-- The app's local cache. Never tokens: those live only in the OS keyring.

-- The last feed per server, with the server's base URL replaced by {server}
-- so the embedded server's new port each launch does not break it.
CREATE TABLE feed_cache (
    server   TEXT PRIMARY KEY NOT NULL,
    body     TEXT NOT NULL,
    saved_at TEXT NOT NULL
);

-- Anything cached for the signed-in user (orders, wallet, …: later issues).
-- Sign-out deletes it all.
CREATE TABLE user_cache (
    key      TEXT PRIMARY KEY NOT NULL,
    body     TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
