"""Marshmallow schemas derived from the record rules' commands and the read side's views.

The API writes no schema by hand for a command or a view: each is made from the
dataclass itself (its fields, their types and defaults), so a command's body is
exactly what `ledger.domain` takes and a record's JSON exactly what
`projections.queries` returns. The service then checks every event it makes
against the catalogue, as it does for the forms.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

_SCHEMAS: dict[tuple[type, str], type[Schema]] = {}


# No NUL and no lone surrogate: neither can be stored as text or canonical JSON.
def storable(value: str) -> None:
    """Refuse text with NUL or a lone surrogate: neither can be stored.

    Raises:
        ValidationError: the text has such a character.
    """
    if any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for ch in value):
        raise ValidationError("the text has a character that cannot be stored")


def printable(value: str) -> None:
    """Refuse an identifier or filter with a control character.

    Raises:
        ValidationError: the text has one.
    """
    storable(value)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("control characters are not allowed")


_INT_RANGE = validate.Range(min=-(2**31), max=2**31 - 1)
_JSON_VALUE = "JSONValue"


def _is_json(hint: object) -> bool:
    """Whether `hint` is the JSON value union of ledger.integrity.canonical."""
    text = str(hint)
    return _JSON_VALUE in text


def _strip_none(hint: object) -> tuple[object, bool]:
    """Return `hint` without None, and whether None was allowed."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        allowed = len(args) != len(typing.get_args(hint))
        if len(args) == 1:
            return args[0], allowed
        return hint, allowed
    return hint, False


def field_for(hint: object, name: str, **kwargs: Any) -> fields.Field[Any]:
    """Return the marshmallow field for a dataclass field typed `hint`."""
    inner, optional = _strip_none(hint)
    if optional:
        kwargs.setdefault("allow_none", True)
    if _is_json(inner) and typing.get_origin(inner) not in (Mapping, Sequence):
        return fields.Raw(**kwargs)
    origin = typing.get_origin(inner)
    args = typing.get_args(inner)
    if inner is bool:
        return fields.Boolean(**kwargs)
    if inner is int:
        return fields.Integer(strict=True, validate=_INT_RANGE, **kwargs)
    if inner is str:
        return fields.String(validate=storable, **kwargs)
    if inner is Decimal:
        return fields.Decimal(as_string=True, **kwargs)
    if inner is datetime:
        return fields.AwareDateTime(**kwargs)
    if inner is date:
        return fields.Date(**kwargs)
    if origin in (Mapping, dict):
        if args and args[1] is str:
            return fields.Dict(keys=fields.String(), values=fields.String(), **kwargs)
        return fields.Dict(keys=fields.String(), **kwargs)
    if origin in (Sequence, tuple, list, frozenset, set):
        item = args[0] if args else object
        return fields.List(field_for(item, name), **kwargs)
    if isinstance(inner, type) and dataclasses.is_dataclass(inner):
        return fields.Nested(schema_for(inner), **kwargs)
    return fields.Raw(**kwargs)


def schema_for(
    cls: type, *, suffix: str = "", extra: Mapping[str, fields.Field[Any]] = {}
) -> type[Schema]:
    """Return (once) the schema of the dataclass `cls`, named after it plus `suffix`.

    A field with a default is optional and loads as that default; one without is
    required. `extra` adds fields that are not the dataclass's (the signer's password).
    """
    key = (cls, suffix)
    if key in _SCHEMAS:
        return _SCHEMAS[key]
    hints = typing.get_type_hints(cls)
    made: dict[str, fields.Field[Any]] = {}
    for item in dataclasses.fields(cls):
        has_default = item.default is not dataclasses.MISSING
        has_factory = item.default_factory is not dataclasses.MISSING
        kwargs: dict[str, Any] = {}
        if has_default or has_factory:
            kwargs["required"] = False
            default = (
                item.default if has_default else item.default_factory()  # type: ignore[operator]  # checked above
            )
            if isinstance(default, tuple | frozenset):
                default = list(default)
            if default is not None and not isinstance(default, list | dict):
                kwargs["load_default"] = default
        else:
            kwargs["required"] = True
        made[item.name] = field_for(hints[item.name], item.name, **kwargs)
    made.update(extra)
    schema = Schema.from_dict(made, name=f"{cls.__name__}{suffix}")
    _SCHEMAS[key] = schema
    return schema


def build(cls: type, loaded: Mapping[str, Any]) -> Any:
    """Return an instance of the dataclass `cls` from its schema's loaded data."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name not in loaded:
            continue
        values[item.name] = _value(hints[item.name], loaded[item.name])
    return cls(**values)


def _value(hint: object, value: Any) -> Any:
    inner, _optional = _strip_none(hint)
    if value is None:
        return None
    if isinstance(inner, type) and dataclasses.is_dataclass(inner):
        return build(inner, value)
    origin = typing.get_origin(inner)
    if origin in (Sequence, tuple, list) and isinstance(value, list):
        args = typing.get_args(inner)
        return tuple(_value(args[0] if args else object, v) for v in value)
    return value
