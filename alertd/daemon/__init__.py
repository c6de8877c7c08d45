"""`alertd run`: the long-running process.

`loop` is start-up, the main loop and shutdown; `engine` applies the core's decisions (ledger
rows, retries, deliveries); `timetable` holds each deadline's next instant and `alarm` the one
scheduler job at the earliest; `watch` notices config edits; `notify` speaks systemd's protocol.
"""
