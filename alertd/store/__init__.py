"""The state store: what alertd decided, attempted, sent and gave up, kept across restarts.

`base` states the operations the daemon and the commands need (the `Store` protocol and its
row types); `ledger` is the SQLite engine behind it; `groupcommit` shares one transaction
among the marks made in one event-loop turn.
"""
