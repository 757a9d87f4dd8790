-- Who follows which host, and chat messages viewers reported.

CREATE TABLE follows (
    user_id     TEXT NOT NULL REFERENCES users(id),
    host_id     TEXT NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, host_id),
    CHECK (user_id != host_id)
);
CREATE INDEX follows_by_host ON follows (host_id);

-- One report per (reporter, message); the text is kept as it was seen, since
-- chat itself lives only in the room's memory.
CREATE TABLE reports (
    id           TEXT PRIMARY KEY NOT NULL,
    reporter_id  TEXT NOT NULL REFERENCES users(id),
    room_id      TEXT NOT NULL REFERENCES rooms(id),
    message_id   TEXT NOT NULL,
    author_id    TEXT,
    text         TEXT,
    reason       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (reporter_id, message_id)
);
