"""The OpenAPI 3.1 document of the JSON API (api.py), served at /api/v1/openapi.json.

The tests validate it (openapi-spec-validator) and check every operation against the running
daemon (schemathesis): what the API answers must be what this says.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from alertd import __version__

__all__ = ["document"]


_INSTANT = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC, with Z"}
_NULL_INSTANT = {"type": ["string", "null"], "format": "date-time"}
_NULL_TEXT = {"type": ["string", "null"]}
_STATES = ["open", "acknowledged", "snoozed", "done", "cancelled", "overdue"]
_DELIVERY_STATES = ["pending", "sending", "sent", "failed", "superseded", "missed"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], *, required: list[str] | None = None, closed: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "required": list(props) if required is None
                           else required}
    if closed:
        out["additionalProperties"] = False
    return out


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_ERRORS = {"401": _problem("no token, or not the API token"), "422": _problem("a parameter cannot be used")}
_UNAVAILABLE = {"503": _problem("the shared database does not answer now: try again after Retry-After")}
_LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
_ID = {"name": "id", "in": "path", "required": True, "description": "the deadline's id", "schema": {"type": "string"}}

_BY_SCHEMA = {"type": "string", "maxLength": 200,
              "description": "who did it (blank: api); control characters become U+FFFD"}
_NOTE_SCHEMA = {"type": "string", "maxLength": 2000, "description": "control characters but newlines and tabs "
                "become U+FFFD"}

SCHEMAS: dict[str, Any] = {
    "NextAlert": {"oneOf": [{"type": "null"}, _obj({
        "lead": {"type": "string", "description": "ISO 8601 duration before the due (negative: after it)"},
        "fire_at": _INSTANT, "kind": {"type": "string"},
        "channels": {"type": "array", "items": {"type": "string"}}})]},
    "Deadline": _obj({
        "id": {"type": "string"}, "title": {"type": "string"}, "due": _INSTANT,
        "due_local": {"type": "string", "description": "the due on its zone's clock (end of day as T24:00)"},
        "timezone": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
        "notes": _NULL_TEXT,
        "state": {"enum": _STATES},
        "by": {**_NULL_TEXT, "description": "who acknowledged, snoozed or marked it done"},
        "at": {**_NULL_INSTANT, "description": "when they did"}, "note": _NULL_TEXT,
        "until": {**_NULL_INSTANT, "description": "the end of a snooze"},
        "next_alert": _ref("NextAlert")}),
    "DeadlineList": _obj({
        "deadlines": {"type": "array", "items": _ref("Deadline")}, "total": {"type": "integer", "minimum": 0},
        "offset": {"type": "integer", "minimum": 0}, "limit": {"type": "integer", "minimum": 1},
        "next": {"type": ["string", "null"], "description": "the next page's URL, null on the last"},
        "at": _INSTANT}),
    "Alert": _obj({
        "deadline": {"type": "string"}, "lead": {"type": "string"}, "fire_at": _INSTANT, "due": _INSTANT,
        "channels": {"type": "array", "items": {"type": "string"}},
        "kind": {"enum": ["overdue", "escalation"]}, "step": {"type": "integer", "minimum": 1}},
        required=["deadline", "lead", "fire_at", "due", "channels"]),
    "AlertList": _obj({"alerts": {"type": "array", "items": _ref("Alert")}, "from": _INSTANT, "until": _INSTANT,
                       "truncated": {"type": "boolean"}}),
    "Delivery": _obj({
        "alert_id": {"type": "string"}, "deadline": {"type": "string"}, "lead": {"type": "string"},
        "channel": {"type": "string"}, "fire_at": _INSTANT, "due": _INSTANT, "state": {"enum": _DELIVERY_STATES},
        "reason": _NULL_TEXT, "attempts": {"type": "integer", "minimum": 0}, "sent_at": _NULL_INSTANT,
        "next_retry_at": _NULL_INSTANT, "updated_at": _INSTANT, "last_error": _NULL_TEXT, "kind": _NULL_TEXT,
        "by": {"type": "string", "description": "on a shared database: the instance that sent it, or holds it"}},
        required=["alert_id", "deadline", "lead", "channel", "fire_at", "due", "state", "reason", "attempts", "sent_at",
                  "next_retry_at", "updated_at", "last_error", "kind"]),
    "DeliveryList": _obj({"deliveries": {"type": "array", "items": _ref("Delivery")},
                          "next": {"type": ["string", "null"], "description": "the next page's URL"}}),
    "ActBody": _obj({"by": _BY_SCHEMA, "note": _NOTE_SCHEMA}, required=[]),
    "SnoozeBody": {**_obj({"by": _BY_SCHEMA, "note": _NOTE_SCHEMA,
                           "until": {**_INSTANT, "description": "the snooze's end, in the future"},
                           "duration": {"type": "string", "pattern": r"^(?:(?:[0-9]{1,9}[wdhms])+|P.+)$",
                                        "description": "how long: 30m, 2h, 1d12h or ISO 8601 (PT2H); "
                                                       "more than 0, at most ten years"}}, required=[]),
                   "oneOf": [{"required": ["until"]}, {"required": ["duration"]}]},
    "ActResult": _obj({"recorded": {"type": "boolean", "description": "false when it changed nothing "
                                    "(already acknowledged, ...)"}, "deadline": _ref("Deadline")}),
    "Problem": _obj({"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                     "detail": {"type": "string"},
                     "errors": {"type": "array", "items": _obj({"name": {"type": "string"},
                                                                "detail": {"type": "string"}})}},
                    required=["type", "title", "status"], closed=False),
}


def _act(name: str, summary: str) -> dict[str, Any]:
    body = "SnoozeBody" if name == "snooze" else "ActBody"
    return {"post": {
        "operationId": f"{name}Deadline", "summary": summary, "parameters": [_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(body)}}},
        "responses": {"200": _json("recorded (or already in force)", _ref("ActResult")), **_ERRORS,
                      "404": _problem("no such deadline"), "409": _problem("the config says done or cancelled"),
                      "413": _problem("the body is larger than 64 KiB"),
                      "415": _problem("the body is not application/json"), **_UNAVAILABLE}}}


@cache
def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/deadlines": {"get": {
            "operationId": "listDeadlines", "summary": "The deadlines: overdue first, then by next alert",
            "parameters": [_query("tag", "only those with this tag", {"type": "string"}),
                           _query("state", "only those in this state", {"enum": _STATES}),
                           _query("limit", "how many", _LIMIT),
                           _query("offset", "how many to skip",
                                  {"type": "integer", "minimum": 0, "maximum": 1_000_000_000})],
            "responses": {"200": _json("a page of deadlines", _ref("DeadlineList")), **_ERRORS}}},
        "/deadlines/{id}": {"get": {
            "operationId": "getDeadline", "summary": "One deadline", "parameters": [_ID],
            "responses": {"200": _json("the deadline", _ref("Deadline")), "401": _ERRORS["401"],
                          "404": _problem("no such deadline")}}},
        "/deadlines/{id}/ack": _act("ack", "Acknowledge the deadline's current due: no more repeats or escalation"),
        "/deadlines/{id}/snooze": _act("snooze", "Hold the deadline's alerts until a time"),
        "/deadlines/{id}/done": _act("done", "Mark the current due done: nothing more is sent for it"),
        "/deadlines/{id}/reopen": _act("reopen", "Undo acknowledgement, snooze and done"),
        "/alerts": {"get": {
            "operationId": "listAlerts", "summary": "The alerts planned in [from, until), as `alertd plan --json`",
            "parameters": [_query("from", "start (default: now, or 30 days before an until in the past)", _INSTANT),
                           _query("until", "end (default: from + 30 days; at most 366 days)", _INSTANT),
                           _query("limit", "how many", {"type": "integer", "minimum": 1, "maximum": 10000})],
            "responses": {"200": _json("the alerts", _ref("AlertList")), **_ERRORS}}},
        "/deliveries": {"get": {
            "operationId": "listDeliveries", "summary": "Deliveries from the ledger, newest change first",
            "parameters": [_query("deadline", "only this deadline's", {"type": "string"}),
                           _query("state", "only those in this state", {"enum": _DELIVERY_STATES}),
                           _query("since", "only those changed at or after", _INSTANT),
                           _query("limit", "how many", _LIMIT),
                           _query("before", "only those changed before (with before_key: the last row of the "
                                  "page before; the `next` URL has both)", _INSTANT),
                           _query("before_key", "the alert_id of the page before's last row", {"type": "string"})],
            "responses": {"200": _json("a page of deliveries", _ref("DeliveryList")), **_ERRORS, **_UNAVAILABLE}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "alertd API", "version": __version__,
                 "description": "Deadlines, their alerts and deliveries, and acting on them."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "ALERTD_API_TOKEN"}}},
    }
