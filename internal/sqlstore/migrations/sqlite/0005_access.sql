-- Access control (docs/roles.md). All four tables are index tables: derived
-- from the log, rebuilt by replay and compared row by row by verify.

-- compartments: the cases and teams each record or item belongs to.
-- source is the record whose current version puts it there: the subject
-- itself (its own case and team fields, explicit compartments, a case or
-- team being its own compartment) or a case that lists it. A subject with
-- no row is general.
CREATE TABLE compartments (subject TEXT NOT NULL, compartment TEXT NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY (subject, compartment, source));
CREATE INDEX compartments_source ON compartments (source);
CREATE INDEX compartments_compartment ON compartments (compartment, subject);

-- grants: the compartments each user holds. source is "grant" (an
-- access.grant entry), "creator" (who created the case or team) or the team
-- record whose members include the user.
CREATE TABLE grants (user_id TEXT NOT NULL, compartment TEXT NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY (user_id, compartment, source));
CREATE INDEX grants_source ON grants (source);

-- person_identity: every person's stable pseudonym (from the private nonce
-- of its first version) and, for a protected witness, the protection level
-- and the name that outputs must withhold. log_index is the entry of the
-- person's current version: its maximum tells readers whether the set of
-- protected identities may have changed.
CREATE TABLE person_identity (id TEXT PRIMARY KEY, pseudonym TEXT NOT NULL, protection TEXT NOT NULL, name TEXT NOT NULL,
  log_index BIGINT NOT NULL);
CREATE INDEX person_identity_protection ON person_identity (protection);
CREATE INDEX person_identity_log ON person_identity (log_index);

-- access_log: audited reads (access.read, access.reveal).
CREATE TABLE access_log (subject TEXT NOT NULL, log_index BIGINT NOT NULL, action TEXT NOT NULL, reason TEXT,
  actor TEXT NOT NULL, time TEXT NOT NULL, PRIMARY KEY (subject, log_index));

-- users.clearance: set by user.clearance; NULL means the role's default.
ALTER TABLE users ADD COLUMN clearance TEXT;
