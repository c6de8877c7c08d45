"""The state store: what alertd decided, attempted, sent and gave up, kept across restarts.

`base` states the operations the daemon and the commands need (the `Store` protocol, its row
types, and `Claims` for instances sharing one database); `ledger` is the SQLite engine behind it;
`postgres` the PostgreSQL one (`pgconn` reaches the database within bounded time, `pgschema`
migrates its schema, `sql/postgres/` holds its SQL); `groupcommit` shares one transaction among
the marks made in one event-loop turn.
"""
