"""The HTTP surface: the status page, the JSON API, /metrics and /healthz, in the daemon's loop.

Opt-in: `alertd run` serves it when ALERTD_HTTP_ADDR is set (docs/http.md). The daemon does not
import this package; `alertd run` builds a `WebServer` (server.py) and hands it to the daemon as
one of its services (alertd/daemon/services.py), which starts it just before the daemon is ready.

- server.py: `WebServer`, the service: binds the address up front (a bad one is a clear error
  before anything starts), refuses a non-loopback address without a token, runs the app.
- app.py: `create_app(ctx)`, the factory. Routes come from the modules named in `ROUTE_MODULES`,
  each with `add_routes(app)`; the optional ones are added when the module exists.
- context.py: `WebContext` (`app[CTX]` in handlers): the store, the config, the settings, the
  metrics, the clock, the deadlines and their states, `act`, and the Jinja2 templates.
- auth.py: the token and the middleware that asks for it; `@public` marks a handler that
  authenticates by itself (a signed link).
- problems.py: RFC 9457 problem+json answers. health.py: /metrics and /healthz.

To add pages from another module (the signed action links, for one): write
`alertd/web/actions.py` with `def add_routes(app: web.Application) -> None`, get what you need
with `app[CTX]` in the handlers, render with `ctx.render("page.html", ...)` (templates/, autoescaped),
and mark handlers that do their own authentication with `@public`. `create_app` picks the module
up by its name in `ROUTE_MODULES`; nothing else needs to change.
"""
