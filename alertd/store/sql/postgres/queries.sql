-- The PostgreSQL engine's statements (postgres.py), one per operation, each one round trip.
-- `-- name: NAME` starts a statement; parameters are psycopg's %(name)s. Batches travel as
-- arrays and are spread with unnest(), so a list of 500 keys is one statement, not 500.
-- The SQLite ledger (ledger.py) holds the same operations for one process.

-- name: see
INSERT INTO alertd.deadlines_seen (deadline_id, due, first_seen)
SELECT i, d, %(now)s FROM unnest(%(ids)s::text[], %(dues)s::timestamptz[]) AS s (i, d)
ON CONFLICT DO NOTHING

-- name: first_seen
SELECT s.deadline_id, s.due, s.first_seen
FROM alertd.deadlines_seen s
JOIN unnest(%(ids)s::text[], %(dues)s::timestamptz[]) AS w (i, d) ON s.deadline_id = w.i AND s.due = w.d

-- name: record
-- A final row is left alone; an open one takes the new decision, unless another instance holds a
-- live lease on it (its sending is that instance's business). A decision to send (`pending`) keeps
-- the row's retry instant and lease; a final one ends the lease.
INSERT INTO alertd.deliveries AS d (key, deadline_id, lead, due, channel, fire_at, state, reason, updated_at)
SELECT k, i, l, du, c, f, s, r, %(now)s
FROM unnest(%(keys)s::text[], %(ids)s::text[], %(leads)s::text[], %(dues)s::timestamptz[],
            %(channels)s::text[], %(fire_ats)s::timestamptz[], %(states)s::text[], %(reasons)s::text[])
     AS n (k, i, l, du, c, f, s, r)
ON CONFLICT (key) DO UPDATE SET
    state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at,
    next_retry_at = CASE WHEN excluded.state = 'pending' THEN d.next_retry_at END,
    claim_until = CASE WHEN excluded.state = 'pending' THEN d.claim_until END
WHERE d.state IN ('pending', 'sending')
  AND (d.claim_until IS NULL OR d.claim_until < now() OR d.claimed_by = %(me)s)

-- name: mark_sending
UPDATE alertd.deliveries SET state = 'sending', attempts = attempts + 1,
    first_attempt_at = coalesce(first_attempt_at, m.at), last_attempt_at = m.at, next_retry_at = NULL,
    updated_at = m.at
FROM unnest(%(keys)s::text[], %(ats)s::timestamptz[]) AS m (k, at)
WHERE key = m.k

-- name: mark_sent
UPDATE alertd.deliveries SET state = 'sent', reason = NULL, sent_at = m.at, next_retry_at = NULL,
    updated_at = m.at, claim_until = NULL
FROM unnest(%(keys)s::text[], %(ats)s::timestamptz[]) AS m (k, at)
WHERE key = m.k

-- name: mark_retry
UPDATE alertd.deliveries SET state = 'pending', next_retry_at = %(at)s, last_error = %(error)s,
    updated_at = %(now)s, claim_until = NULL
WHERE key = %(key)s

-- name: finish
UPDATE alertd.deliveries SET state = %(state)s, reason = %(reason)s, next_retry_at = NULL,
    last_error = coalesce(%(error)s, last_error), updated_at = %(now)s, claim_until = NULL
WHERE key = %(key)s

-- name: get
SELECT {columns} FROM alertd.deliveries WHERE key = %(key)s

-- name: rows
SELECT {columns} FROM alertd.deliveries WHERE key = ANY(%(keys)s::text[])

-- name: unfinished
SELECT {columns} FROM alertd.deliveries WHERE state IN ('pending', 'sending')

-- name: next
SELECT {columns} FROM alertd.deliveries WHERE state IN ('pending', 'sending')
ORDER BY coalesce(next_retry_at, fire_at) LIMIT %(limit)s

-- name: recent
SELECT {columns} FROM alertd.deliveries ORDER BY updated_at DESC LIMIT %(limit)s

-- name: failures
SELECT {columns} FROM alertd.deliveries WHERE state IN ('failed', 'missed') ORDER BY updated_at DESC LIMIT %(limit)s

-- name: counts
SELECT state, count(*) FROM alertd.deliveries GROUP BY state

-- name: claim
-- One statement claims a batch (Oban's fetch_jobs, procrastinate's fetch): candidates are locked
-- FOR UPDATE SKIP LOCKED, so two instances claiming the same keys at once get disjoint sets
-- without waiting on each other; the lease ends on the database's clock.
UPDATE alertd.deliveries d SET claimed_by = %(me)s, claim_until = now() + %(lease)s
WHERE d.key IN (
    SELECT key FROM alertd.deliveries
    WHERE key = ANY(%(keys)s::text[]) AND state IN ('pending', 'sending')
      AND (claim_until IS NULL OR claim_until < now() OR claimed_by = %(me)s)
    ORDER BY coalesce(next_retry_at, fire_at), key
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING {columns}

-- name: sweep
-- Take over what a dead or frozen instance left: open rows whose instant has passed (database
-- clock) and whose lease expired or was never taken.
UPDATE alertd.deliveries d SET claimed_by = %(me)s, claim_until = now() + %(lease)s
WHERE d.key IN (
    SELECT key FROM alertd.deliveries
    WHERE state IN ('pending', 'sending') AND coalesce(next_retry_at, fire_at) <= now()
      AND (claim_until IS NULL OR claim_until < now())
    ORDER BY coalesce(next_retry_at, fire_at), key
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING {columns}

-- name: start_sending
-- The check right before sending, in the same statement as the `sending` mark: only a lease this
-- instance still holds on the database's clock lets the request leave.
UPDATE alertd.deliveries SET state = 'sending', attempts = attempts + 1,
    first_attempt_at = coalesce(first_attempt_at, %(now)s), last_attempt_at = %(now)s, next_retry_at = NULL,
    updated_at = %(now)s, claim_until = now() + %(lease)s
WHERE key = ANY(%(keys)s::text[]) AND state IN ('pending', 'sending')
  AND claimed_by = %(me)s AND claim_until >= now()
RETURNING key

-- name: renew
-- A lease still recorded as ours is extended even past its end: nobody took it over, so
-- re-asserting it is as exclusive as claiming it afresh (the row lock orders it against a sweep).
UPDATE alertd.deliveries SET claim_until = now() + %(lease)s
WHERE key = ANY(%(keys)s::text[]) AND state IN ('pending', 'sending') AND claimed_by = %(me)s
  AND claim_until IS NOT NULL
RETURNING key

-- name: release
UPDATE alertd.deliveries SET claim_until = NULL
WHERE claimed_by = %(me)s AND claim_until IS NOT NULL AND (%(all)s OR key = ANY(%(keys)s::text[]))

-- name: register
-- The same name alive elsewhere would share this instance's leases: refused by the caller.
SELECT host, pid, heartbeat_at > now() - %(dead_after)s AND stopped_at IS NULL AS alive
FROM alertd.instances WHERE name = %(me)s

-- name: heartbeat
INSERT INTO alertd.instances AS i (name, host, pid, version, started_at, heartbeat_at)
VALUES (%(me)s, %(host)s, %(pid)s, %(version)s, now(), now())
ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL,
    host = excluded.host, pid = excluded.pid, version = excluded.version,
    started_at = CASE WHEN %(start)s THEN now() ELSE i.started_at END
RETURNING now()

-- name: instances
SELECT i.name, i.host, i.pid, i.version, i.started_at, i.heartbeat_at, i.stopped_at,
       i.heartbeat_at > now() - %(dead_after)s AND i.stopped_at IS NULL,
       (SELECT count(*) FROM alertd.deliveries d
        WHERE d.state IN ('pending', 'sending') AND d.claimed_by = i.name AND d.claim_until >= now())
FROM alertd.instances i ORDER BY i.name

-- name: stop
UPDATE alertd.instances SET stopped_at = now() WHERE name = %(me)s

-- name: make_key
-- The first instance to need a key makes it; the others (and later starts) keep that one.
INSERT INTO alertd.keys (name, value) VALUES (%(name)s, %(value)s) ON CONFLICT (name) DO NOTHING

-- name: key
SELECT value FROM alertd.keys WHERE name = %(name)s
