"""Channels: one small sender per kind (`console`, `email`, `slack`, `webhook`), each in its own
module, found through the explicit table in `registry`. `base` holds what every sender shares
(the error it raises, the context it is built with); `http` the one helper every HTTP channel
calls; `pace` Slack's one-message-a-second pacing."""
