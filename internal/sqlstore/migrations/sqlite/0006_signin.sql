-- Sign-in hardening (docs/roles.md).

-- Index (derived from the log, rebuilt by replay, compared by verify):
-- users.totp_secret is the base32 TOTP key set by user.totp entries (NULL:
-- no second factor); api_tokens are the scoped, expiring API tokens of
-- token.add and token.revoke entries, each stored as the SHA-256 of the
-- token, never the token. Times are custody.TimeFormat text (UTC, fixed
-- width), so text comparison is time comparison.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
  label TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
  revoked_at TEXT, revoked_by TEXT, log_index BIGINT NOT NULL);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- NOT derived from the log: the server's own short-lived sign-in state,
-- like sessions; a rebuild or replay leaves these tables alone (a rebuilt
-- SQLite file starts with them empty). Shared by every node of a store, so
-- that limits hold however requests are spread.
--
-- signin_accounts: consecutive failed sign-ins per name tried (whether or
-- not a user has it, so that a lock-out tells nothing of who exists), the
-- lock-outs so far (each doubles the next) and the current lock.
CREATE TABLE signin_accounts (
  name TEXT PRIMARY KEY, failures INTEGER NOT NULL, lockouts INTEGER NOT NULL,
  locked_until TEXT, last_failure TEXT NOT NULL);
-- signin_addrs: a token bucket per client address (IPv6: per /64).
CREATE TABLE signin_addrs (addr TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, updated_at TEXT NOT NULL);
-- signin_pending: sign-ins whose password was right, waiting for the TOTP
-- code; the challenge token is stored as its SHA-256 only.
CREATE TABLE signin_pending (
  id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at TEXT NOT NULL, attempts INTEGER NOT NULL);
-- totp_used: the last TOTP time step accepted per user; a code of that step
-- or an earlier one is refused (no replay).
CREATE TABLE totp_used (user_id TEXT PRIMARY KEY, step BIGINT NOT NULL);
