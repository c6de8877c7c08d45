"""pydantic's errors in the config's words, and what of a refused entry can still be checked.

An entry the schema refuses is not dropped unseen: `validate_fields` reports each of its
errors and hands back the values of the fields that passed, so the later checks (a deadline's
due, leads and channels, duplicate ids) still look at them in the same pass. One bad field is
one error, never the reason to stay silent about the others, nor the cause of more.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from alertd.config.schema import ID_PATTERN

__all__ = ["Report", "did_you_mean", "explain", "valid_id", "validate_fields"]

_ID_RE = re.compile(ID_PATTERN.strip("^$"))

M = TypeVar("M", bound=BaseModel)
Report = Callable[[tuple, str, str | None], None]  # (place below the entry, message, hint)


def validate_fields(model: type[M], raw: Any, *, omit: frozenset[str] | set[str] = frozenset(),
                    placeholders: dict[str, Any] | None = None, report: Report) -> tuple[M | None, frozenset[str]]:
    """Validate `raw` without its keys in `omit` (fields whose `${NAME}` is missing: that is
    reported already) and report every error. Returns the model and the names of the fields
    refused (`omit` among them): (model, ∅) for a valid entry; (None, ...) when nothing of it can
    be kept (it is not a mapping). The caller ignores the refused fields of the model.

    A refused required field is stood in for by its `placeholders` value (a valid one), so the
    other fields are validated as in a valid entry: pydantic checks each field on its own.
    An unknown key close to a field's name (`chanels`) stands for that field: it is refused
    too, so that neither its absence ("missing required key") nor what relies on it ("has no
    channels") is a second error for one typo.
    """
    if not isinstance(raw, dict):
        omit = frozenset()
    try:
        return model.model_validate(_without(raw, omit, placeholders)), frozenset(omit)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
    whole = [err for err in errors if not err["loc"]]
    if whole:  # the entry itself is wrong (not a mapping): nothing of it can be kept
        report((), *explain(whole[0], (), model))
        return None, frozenset(omit)
    names = _field_names(model, ())
    meant = {close for err in errors if err["type"] == "extra_forbidden" and len(err["loc"]) == 1
             for close in difflib.get_close_matches(str(err["loc"][0]), names, n=1, cutoff=0.6)}
    refused = set(omit) | meant
    for err in errors:
        loc = tuple(err["loc"])
        refused.add(str(loc[0]))
        if err["type"] == "missing" and len(loc) == 1 and loc[0] in meant:
            continue  # the unknown key close to it says it
        message, hint = explain(err, loc, model)
        report(loc, f"{'.'.join(str(p) for p in loc)}: {message}", hint)
    try:
        return model.model_validate(_without(raw, refused, placeholders)), frozenset(refused)
    except ValidationError:  # pragma: no cover - a rule across fields: keep nothing rather than guess
        return None, frozenset(refused)


def _without(raw: Any, refused: frozenset[str] | set[str], placeholders: dict[str, Any] | None) -> Any:
    """`raw` without the `refused` keys, the required ones among them given their placeholders."""
    if not refused:
        return raw
    stand_ins = {k: v for k, v in (placeholders or {}).items() if k in refused}
    return {**{k: v for k, v in raw.items() if k not in refused}, **stand_ins}


def valid_id(name: object) -> bool:
    return isinstance(name, str) and _ID_RE.fullmatch(name) is not None


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def explain(err: Any, loc: tuple, model: type[BaseModel] | None) -> tuple[str, str | None]:
    """One pydantic error as (message, hint)."""
    kind, msg = err["type"], err["msg"]
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        fields = list(_field_names(model, loc[:-1])) if model else []
        hint = did_you_mean(name, fields) if fields else None
        return f"unknown key {name!r}", hint or (f"allowed keys: {', '.join(fields)}" if fields else None)
    if kind == "missing":
        return "missing required key", None
    if kind == "string_pattern_mismatch" and name == "id":
        return ("not a valid id", "use 1-128 lower-case letters, digits, '.', '_' or '-', starting with a "
                                  "letter or digit")
    if kind == "value_error":
        return msg.removeprefix("Value error, "), None
    return msg[:1].lower() + msg[1:], None


def _field_names(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc:
        if isinstance(part, int):  # an item of a list of models (escalate steps)
            continue
        info = model.model_fields.get(str(part))
        inner = _model_in(getattr(info, "annotation", None) if info else None)
        if inner is None:
            break
        model = inner
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds: `Model`, `list[Model]`, `list[Model] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
