"""The wire format's Python types as JSON Schema (2020-12, as OpenAPI 3.1 takes it): each
``TypedDict`` once, as a named component that others refer to; every key it declares and
no other (``additionalProperties: false``), so a shape that drifts from its type fails
validation instead of passing unnoticed."""

from __future__ import annotations

import enum
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

Schema = dict[str, Any]
_SCALARS: dict[Any, Schema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    # JSON has one kind of number: a float field may hold a whole number.
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
}
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


class SchemaBuilder:
    """Schemas of types; the ``TypedDict``s met on the way collect in ``components``."""

    def __init__(self, prefix: str = "#/components/schemas/") -> None:
        self.components: dict[str, Schema] = {}
        self._prefix = prefix
        self._named: dict[str, Any] = {}

    def schema(self, hint: Any) -> Schema:
        if hint is Any:
            return {}
        if is_typeddict(hint):
            return self._reference(hint)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return _enum([member.value for member in hint])
        origin, args = get_origin(hint), get_args(hint)
        if origin is Literal:
            return _enum(list(args))
        if origin in (Union, types.UnionType):
            return {"anyOf": [self.schema(option) for option in args]}
        if origin is list:
            return {"type": "array", "items": self.schema(args[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.schema(args[1])}
        if hint in _SCALARS:
            return dict(_SCALARS[hint])
        raise TypeError(f"no JSON Schema for {hint!r}")

    def _reference(self, shape: Any) -> Schema:
        name = shape.__name__
        known = self._named.setdefault(name, shape)
        if known is not shape:
            raise TypeError(f"two shapes named {name}: {known!r} and {shape!r}")
        if name not in self.components:
            self.components[name] = {}  # taken before its fields, for a shape that holds itself
            self.components[name] = self._object(shape)
        return {"$ref": self._prefix + name}

    def _object(self, shape: Any) -> Schema:
        hints = get_type_hints(shape)
        schema: Schema = {
            "type": "object",
            "properties": {key: self.schema(hint) for key, hint in hints.items()},
            "required": sorted(shape.__required_keys__),
            "additionalProperties": False,
        }
        if shape.__doc__:
            schema["description"] = " ".join(shape.__doc__.split())
        return schema


def _enum(values: list[Any]) -> Schema:
    kinds = {_JSON_TYPES[type(value)] for value in values}
    schema: Schema = {"enum": values}
    if len(kinds) == 1:
        schema["type"] = kinds.pop()
    return schema
