-- The investigation's records (index of the record.* entries).
-- seq is the log index of the record's create entry: unique, stable across
-- replays, and the key of its full-text row.
-- Text columns sort bytewise (COLLATE "C"), as on SQLite, so that both
-- dialects list in the same order and cursors mean the same.
CREATE TABLE records (
  id TEXT COLLATE "C" PRIMARY KEY, seq BIGINT NOT NULL UNIQUE, kind TEXT COLLATE "C" NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
  title TEXT COLLATE "C" NOT NULL, locality TEXT COLLATE "C", site TEXT COLLATE "C", case_id TEXT COLLATE "C", team TEXT COLLATE "C",
  type TEXT COLLATE "C", status TEXT COLLATE "C", date TEXT COLLATE "C",
  lat DOUBLE PRECISION, lon DOUBLE PRECISION,
  personal INTEGER NOT NULL, withdrawn INTEGER NOT NULL, withdraw_reason TEXT,
  bodies INTEGER NOT NULL, identified INTEGER NOT NULL, torture INTEGER NOT NULL,
  killed_confirmed INTEGER NOT NULL, killed_estimated INTEGER NOT NULL,
  injured_confirmed INTEGER NOT NULL, injured_estimated INTEGER NOT NULL,
  created_at TEXT NOT NULL, created_by TEXT NOT NULL, updated_at TEXT COLLATE "C" NOT NULL, updated_by TEXT NOT NULL,
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
CREATE TABLE record_links (src TEXT NOT NULL, field TEXT NOT NULL, dst TEXT NOT NULL, target TEXT NOT NULL,
  PRIMARY KEY (src, field, dst));
CREATE INDEX record_links_dst ON record_links (dst, src);
CREATE TABLE team_localities (team TEXT NOT NULL, locality TEXT NOT NULL, PRIMARY KEY (team, locality));
CREATE INDEX team_localities_locality ON team_localities (locality);
-- Full-text search: the 'simple' configuration (no stemming) treats
-- Ukrainian, Russian and English alike.
CREATE TABLE record_text (seq BIGINT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED);
CREATE INDEX record_text_tsv ON record_text USING GIN (tsv);
