-- Schema version 3: keys alertd makes for itself, by name, made once and then kept, so that every
-- instance and every restart agrees. `link` signs the action links in messages (/a/TOKEN). A key
-- given in the environment (ALERTD_LINK_SECRET) is never stored. Independent of version 2: it
-- applies to a database at version 1 or 2 alike (schema.py applies whatever is missing).

CREATE TABLE alertd.keys (
    name text PRIMARY KEY,
    value bytea NOT NULL CHECK (length(value) >= 16),
    created_at timestamptz NOT NULL DEFAULT now()
);
