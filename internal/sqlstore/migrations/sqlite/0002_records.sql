-- The investigation's records (index of the record.* entries).
-- seq is the log index of the record's create entry: unique, stable across
-- replays, and the rowid of its full-text row.
CREATE TABLE records (
  id TEXT PRIMARY KEY, seq BIGINT NOT NULL UNIQUE, kind TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
  title TEXT NOT NULL, locality TEXT, site TEXT, case_id TEXT, team TEXT, type TEXT, status TEXT, date TEXT,
  lat DOUBLE PRECISION, lon DOUBLE PRECISION,
  personal INTEGER NOT NULL, withdrawn INTEGER NOT NULL, withdraw_reason TEXT,
  bodies INTEGER NOT NULL, identified INTEGER NOT NULL, torture INTEGER NOT NULL,
  killed_confirmed INTEGER NOT NULL, killed_estimated INTEGER NOT NULL,
  injured_confirmed INTEGER NOT NULL, injured_estimated INTEGER NOT NULL,
  created_at TEXT NOT NULL, created_by TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL,
  log_index BIGINT NOT NULL);
CREATE INDEX records_kind ON records (kind, id);
CREATE INDEX records_kind_date ON records (kind, date, id);
CREATE INDEX records_kind_title ON records (kind, title, id);
CREATE INDEX records_kind_updated ON records (kind, updated_at, id);
CREATE INDEX records_locality ON records (locality, kind, id);
CREATE INDEX records_site ON records (site, kind, id);
CREATE INDEX records_case ON records (case_id, kind, id);
CREATE INDEX records_team ON records (team, kind, id);
CREATE INDEX records_position ON records (kind, lat, lon);
CREATE TABLE record_versions (
  id TEXT NOT NULL, version INTEGER NOT NULL, change TEXT NOT NULL, data TEXT, reason TEXT,
  actor TEXT NOT NULL, time TEXT NOT NULL, entry TEXT NOT NULL, log_index BIGINT NOT NULL,
  PRIMARY KEY (id, version));
-- References from a record's current version to records, items, localities.
CREATE TABLE record_links (src TEXT NOT NULL, field TEXT NOT NULL, dst TEXT NOT NULL, target TEXT NOT NULL,
  PRIMARY KEY (src, field, dst));
CREATE INDEX record_links_dst ON record_links (dst, src);
-- Localities a team covers (current version).
CREATE TABLE team_localities (team TEXT NOT NULL, locality TEXT NOT NULL, PRIMARY KEY (team, locality));
CREATE INDEX team_localities_locality ON team_localities (locality);
-- Full-text search: rowid = records.seq. unicode61 folds case and
-- diacritics for Cyrillic and Latin alike.
CREATE VIRTUAL TABLE record_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
