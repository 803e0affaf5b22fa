-- Log storage: the source of truth. Never updated except log_seq/log_integ counters.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE log_seq (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL);
INSERT INTO log_seq (id, size) VALUES (1, 0);
CREATE TABLE log_entries (idx BIGINT PRIMARY KEY, leaf BYTEA NOT NULL, payload BYTEA NOT NULL);
CREATE TABLE log_integ (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, state BYTEA NOT NULL);
INSERT INTO log_integ (id, size, state) VALUES (1, 0, '\x'::bytea);
CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL, created_at TEXT NOT NULL);

-- The index: derived from the log by replaying it (custody rebuild).
CREATE TABLE users (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
  token_hash TEXT, password_hash TEXT, created_at TEXT NOT NULL, log_index BIGINT NOT NULL);
CREATE INDEX users_token ON users (token_hash);
CREATE TABLE items (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, blob TEXT, size BIGINT NOT NULL, media_type TEXT,
  name TEXT, case_id TEXT, collector TEXT, collected_at TEXT, lat DOUBLE PRECISION, lon DOUBLE PRECISION,
  description TEXT, seal TEXT, location TEXT, capture TEXT, duplicate INTEGER NOT NULL,
  ingested_by TEXT NOT NULL, ingested_at TEXT NOT NULL, device_time TEXT, store TEXT NOT NULL,
  holder TEXT, log_index BIGINT NOT NULL);
CREATE INDEX items_blob ON items (blob);
CREATE INDEX items_case ON items (case_id, id);
CREATE TABLE custody_events (
  id TEXT PRIMARY KEY, item TEXT NOT NULL REFERENCES items (id), type TEXT NOT NULL,
  from_holder TEXT, to_holder TEXT, reason TEXT, seal TEXT, location TEXT,
  actor TEXT NOT NULL, time TEXT NOT NULL, log_index BIGINT NOT NULL);
CREATE INDEX custody_events_item ON custody_events (item, log_index);
