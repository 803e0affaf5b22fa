-- Indexes for search filters and statistics (sqlstore.Search, sqlstore.Stats).
-- Partial (live records only, or one kind) and covering, so that a filter's
-- set of records and the figures come from index-only passes. The queries
-- name kind and withdrawn as literals to match the partial indexes' WHERE.
-- Unlike SQLite's (which lead with kind and withdrawn, constant in the
-- partial index, so that its planner without statistics sees equality
-- constraints), these lead with the column looked up: PostgreSQL's planner
-- costs the constant columns as a wider scan and prefers the table.
-- One statement a line.
-- Live records of a locality (search's locality filter, a locality's record counts).
CREATE INDEX records_live_locality ON records (locality, kind, date, seq) WHERE withdrawn = 0;
-- A record's filterable facts by seq: search checks each full-text match
-- against its filters in this index alone, not in the (wide) table row.
CREATE INDEX records_seq_facets ON records (seq, withdrawn, kind, locality, site, date);
-- Live records of a kind by date (search's kind and date filters).
CREATE INDEX records_live_kind_date ON records (kind, date, seq) WHERE withdrawn = 0;
-- Live remains by site: bodies, identifications, torture; date and seq for search.
CREATE INDEX records_remains_stats ON records (site, bodies, identified, torture, date, seq) WHERE kind = 'remains' AND withdrawn = 0;
-- Live incidents by locality: casualties, month, type.
CREATE INDEX records_incident_stats ON records (locality, date, type, killed_confirmed, killed_estimated, injured_confirmed, injured_estimated) WHERE kind = 'incident' AND withdrawn = 0;
-- Live incidents by date and type, for an index-only pass grouping them by month.
CREATE INDEX records_incident_months ON records (date, type) WHERE kind = 'incident' AND withdrawn = 0;
-- ListRecords sorts by COALESCE(date, ''): this index gives that order for a
-- kind, and holds withdrawn so that the rows a cursor skips are skipped in
-- the index.
CREATE INDEX records_kind_cdate ON records (kind, COALESCE(date, ''), id, withdrawn);
