-- Schema version 2: what people did about a deadline's due (ack, snooze, done, reopen), as in the
-- SQLite ledger's version 2, and the two delivery columns that came with it.
--   deliveries.kind       the webhook type (`deadline.overdue`, `deadline.acknowledged`, ...)
--   deliveries.action_id  for a notice, the action it tells of (deadline_actions.id)
--   deadline_actions      every ack, snooze, done and reopen that changed something; ids grow in
--                         commit order (every `act` holds one transaction-level lock), so a reader
--                         follows new ones with `id > last`
--   deadline_state        per (deadline_id, due), the ack, snooze and done in force; no row: none
-- Each `act` commits with a `NOTIFY alertd_state` so that every instance hears of it at once.

ALTER TABLE alertd.deliveries ADD COLUMN kind text, ADD COLUMN action_id bigint;
CREATE INDEX deliveries_open_by_deadline ON alertd.deliveries (deadline_id, due)
    WHERE state IN ('pending', 'sending');

CREATE TABLE alertd.deadline_actions (
    id bigserial PRIMARY KEY,
    deadline_id text NOT NULL,
    due timestamptz NOT NULL,
    act text NOT NULL CHECK (act IN ('ack', 'snooze', 'done', 'reopen')),
    who text NOT NULL,
    note text,
    until timestamptz,
    at timestamptz NOT NULL
);
CREATE INDEX deadline_actions_by_deadline ON alertd.deadline_actions (deadline_id, due);

CREATE TABLE alertd.deadline_state (
    deadline_id text NOT NULL,
    due timestamptz NOT NULL,
    acked bigint REFERENCES alertd.deadline_actions (id),
    snoozed bigint REFERENCES alertd.deadline_actions (id),
    done bigint REFERENCES alertd.deadline_actions (id),
    PRIMARY KEY (deadline_id, due)
);
