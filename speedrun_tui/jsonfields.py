"""Dataclasses read back from stored JSON: a newer writer's extra keys are dropped, not fatal."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_known_fields(cls: type[T], data: dict[str, Any]) -> T:
    """`cls(**data)` with only the keys that are fields of `cls` (a session stored by a newer version)."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})
