"""Channels: one small sender per kind (`console`, `email`, `slack`, `webhook`, `teams`, `discord`,
`telegram`, `ntfy`, `pagerduty`, `matrix`, `apprise`), each in its own module, found through the
explicit table in `registry`. `base` holds what every sender shares (the error it raises, the
context it is built with); `http` the one helper every HTTP channel calls; `pace` the pacing of
services that limit messages per receiver; `clip` fitting text into a service's limits; `tone`
how loud each kind of notification is."""
