-- alertd's state on PostgreSQL, schema version 1: the SQLite ledger's two tables with the same
-- columns and meanings (instants as timestamptz instead of fixed-width text), plus what several
-- instances sharing the database need: a lease on each open delivery and the instances' heartbeats.
-- Applied once, inside the migration transaction that holds the migration lock (schema.py).

CREATE TABLE alertd.deliveries (
    key text PRIMARY KEY,                   -- the stable delivery key (webhook `alert_id`)
    deadline_id text NOT NULL,
    lead text NOT NULL,                     -- canonical ISO 8601 lead (`P1D`, `PT0S`)
    due timestamptz NOT NULL,
    channel text NOT NULL,
    fire_at timestamptz NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'superseded', 'missed')),
    reason text,
    attempts integer NOT NULL DEFAULT 0,
    first_attempt_at timestamptz,
    last_attempt_at timestamptz,
    sent_at timestamptz,
    next_retry_at timestamptz,
    last_error text,                        -- secrets redacted before they get here
    updated_at timestamptz NOT NULL,
    claimed_by text,                        -- the instance holding (or that last held) the lease
    claim_until timestamptz                 -- the lease's end on the database's clock; NULL: none
);
CREATE INDEX deliveries_by_deadline ON alertd.deliveries (deadline_id, due);
CREATE INDEX deliveries_by_update ON alertd.deliveries (updated_at);
-- open rows in the order they are attempted: `next`, the sweep and `unfinished` read only these
CREATE INDEX deliveries_open ON alertd.deliveries ((coalesce(next_retry_at, fire_at)))
    WHERE state IN ('pending', 'sending');

CREATE TABLE alertd.deadlines_seen (
    deadline_id text NOT NULL,
    due timestamptz NOT NULL,
    first_seen timestamptz NOT NULL,
    PRIMARY KEY (deadline_id, due)
);

CREATE TABLE alertd.instances (
    name text PRIMARY KEY,                  -- ALERTD_INSTANCE, else the host name
    host text NOT NULL,
    pid integer NOT NULL,
    version text NOT NULL,
    started_at timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,      -- database clock
    stopped_at timestamptz                  -- set by a clean shutdown, cleared by the next start
);
