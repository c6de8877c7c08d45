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
INSERT INTO alertd.deliveries AS d (key, deadline_id, lead, due, channel, fire_at, state, reason, updated_at,
                                     kind, action_id)
SELECT k, i, l, du, c, f, s, r, %(now)s, ki, a
FROM unnest(%(keys)s::text[], %(ids)s::text[], %(leads)s::text[], %(dues)s::timestamptz[],
            %(channels)s::text[], %(fire_ats)s::timestamptz[], %(states)s::text[], %(reasons)s::text[],
            %(kinds)s::text[], %(action_ids)s::bigint[])
     AS n (k, i, l, du, c, f, s, r, ki, a)
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
-- Only an open row that no other instance holds a live lease on: an instance that was frozen
-- mid-request and wakes to a timeout must not reopen what another took over and sent.
UPDATE alertd.deliveries SET state = 'pending', next_retry_at = %(at)s, last_error = %(error)s,
    updated_at = %(now)s, claim_until = NULL
WHERE key = %(key)s AND state IN ('pending', 'sending')
  AND (claim_until IS NULL OR claim_until < now() OR claimed_by = %(me)s)

-- name: finish
UPDATE alertd.deliveries SET state = %(state)s, reason = %(reason)s, next_retry_at = NULL,
    last_error = coalesce(%(error)s, last_error), updated_at = %(now)s, claim_until = NULL
WHERE key = %(key)s AND state IN ('pending', 'sending')
  AND (claim_until IS NULL OR claim_until < now() OR claimed_by = %(me)s)

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

-- name: deliveries_page
-- A page of deliveries, newest change first, from the cursor of the page before (the far future for
-- the first). The row comparison walks the (updated_at, key) index backwards, or with a deadline
-- named the (deadline_id, updated_at, key) one (migration 004). `{filters}` is filled with the
-- conditions the query names, from the fixed fragments in postgres.py; every value is a parameter.
SELECT {columns} FROM alertd.deliveries
WHERE (updated_at, key) < (%(before)s, %(before_key)s){filters}
ORDER BY updated_at DESC, key DESC LIMIT %(limit)s

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

-- name: unfinished_for
SELECT {columns} FROM alertd.deliveries
JOIN unnest(%(ids)s::text[], %(dues)s::timestamptz[]) AS w (i, d) ON deadline_id = w.i AND due = w.d
WHERE state IN ('pending', 'sending')

-- name: received_after_due
SELECT DISTINCT channel FROM alertd.deliveries
WHERE deadline_id = %(id)s AND due = %(due)s AND state IN ('sent', 'sending')
  AND kind IN ('deadline.overdue', 'deadline.escalation') AND fire_at <= %(before)s
ORDER BY channel

-- name: act_lock
-- Every `act` holds this transaction-level lock: two racing acks see each other, and action ids
-- are assigned in commit order (a reader that follows `id > last` misses none).
SELECT pg_advisory_xact_lock(%(lock)s)

-- name: states
SELECT s.deadline_id, s.due, {actions_a}, {actions_b}, {actions_c}
FROM alertd.deadline_state s
LEFT JOIN alertd.deadline_actions a ON a.id = s.acked
LEFT JOIN alertd.deadline_actions b ON b.id = s.snoozed
LEFT JOIN alertd.deadline_actions c ON c.id = s.done
WHERE %(all)s OR (s.deadline_id, s.due) IN (SELECT * FROM unnest(%(ids)s::text[], %(dues)s::timestamptz[]))

-- name: act_insert
INSERT INTO alertd.deadline_actions (deadline_id, due, act, who, note, until, at)
VALUES (%(id)s, %(due)s, %(act)s, %(who)s, %(note)s, %(until)s, %(at)s)
RETURNING id

-- name: state_delete
DELETE FROM alertd.deadline_state WHERE deadline_id = %(id)s AND due = %(due)s

-- name: state_put
INSERT INTO alertd.deadline_state (deadline_id, due, acked, snoozed, done)
VALUES (%(id)s, %(due)s, %(acked)s, %(snoozed)s, %(done)s)
ON CONFLICT (deadline_id, due) DO UPDATE SET acked = excluded.acked, snoozed = excluded.snoozed, done = excluded.done

-- name: act_notify
-- Delivered to every listener when (and only if) the transaction commits.
SELECT pg_notify('alertd_state', %(action_id)s::text)

-- name: actions_after
SELECT {actions} FROM alertd.deadline_actions WHERE id > %(after)s ORDER BY id LIMIT %(limit)s

-- name: action
SELECT {actions} FROM alertd.deadline_actions WHERE id = %(id)s

-- name: last_action
SELECT coalesce(max(id), 0) FROM alertd.deadline_actions

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
