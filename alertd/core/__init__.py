"""The pure core: decisions with no I/O and no clock reads.

`leads` and `zones` are the vocabulary; `timerules` turns a written due into an instant and a
lead into a fire instant; `model` holds the resolved deadline; `planner` lists alerts for a
window or `now`; `catchup` decides what to do with alerts whose instant has passed;
`notification` is one delivery and its stable key; `display`, `message` and `ics` word them.
Every function takes `now` (or a window) from its caller.
"""
