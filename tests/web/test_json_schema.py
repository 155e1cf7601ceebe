"""The wire format's types as JSON Schema: each shape once, as a component; nullable,
literal, enumerated, nested and keyed values; no undeclared keys."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import pytest

from interaction_center.domain.model import Role
from interaction_center.web.json_schema import SchemaBuilder


class Inner(TypedDict):
    """A part."""

    n: int


class _Required(TypedDict):
    kind: Literal["a", "b"]


class Outer(_Required, total=False):
    role: Role
    inner: Inner | None
    inners: list[Inner]
    levels: dict[str, float]
    anything: Any


def test_a_shape_is_a_component_referred_to_by_the_shapes_that_hold_it() -> None:
    builder = SchemaBuilder()
    assert builder.schema(Outer) == {"$ref": "#/components/schemas/Outer"}
    inner = {"$ref": "#/components/schemas/Inner"}
    assert builder.components == {
        "Outer": {
            "type": "object",
            "properties": {
                "kind": {"enum": ["a", "b"], "type": "string"},
                "role": {"enum": ["agent", "supervisor", "admin"], "type": "string"},
                "inner": {"anyOf": [inner, {"type": "null"}]},
                "inners": {"type": "array", "items": inner},
                "levels": {"type": "object", "additionalProperties": {"type": "number"}},
                "anything": {},
            },
            "required": ["kind"],
            "additionalProperties": False,
        },
        "Inner": {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
            "additionalProperties": False,
            "description": "A part.",
        },
    }


def test_two_shapes_of_one_name_and_a_type_json_has_not_are_refused() -> None:
    class Part(TypedDict):  # as another module might name a shape
        m: str

    Part.__name__ = "Inner"
    builder = SchemaBuilder()
    builder.schema(Inner)
    with pytest.raises(TypeError, match="two shapes named Inner"):
        builder.schema(Part)
    with pytest.raises(TypeError, match="no JSON Schema"):
        builder.schema(bytes)
