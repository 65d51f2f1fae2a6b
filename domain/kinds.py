"""Record kinds as data (``rules/kinds.yaml``): field names, their types and fixed values.

The kinds file is read by the ingest (to validate records) and by the rule compiler (to reject rules
naming fields a kind does not have). It is data, so a deployment adds a department's kind without Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

FIELD_TYPES = ("string", "int", "number", "timestamp", "bool", "list")
COMMON_FIELDS = ("kind", "source", "id", "at", "region")
"""Fields every record has, whatever its kind."""


class KindsError(ValueError):
    """The kinds file is malformed."""


@dataclass(frozen=True)
class FieldSpec:
    """One declared field: its type and, when fixed, its allowed values."""

    name: str
    type: str
    values: tuple[Any, ...] | None = None

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this field's type, or raise ``ValueError`` saying why not."""
        if value is None:
            return None
        out: Any
        if self.type == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"{self.name} must be a whole number, got {value!r}")
            try:
                out = int(value)
            except (TypeError, ValueError):  # int("many") or int([]) says nothing about which field; say it
                raise ValueError(f"{self.name} must be a whole number, got {value!r}") from None
        elif self.type == "number":
            if isinstance(value, bool):
                raise ValueError(f"{self.name} must be a number, got {value!r}")
            try:
                out = float(value)
            except (TypeError, ValueError):  # a list or an object sent for a number
                raise ValueError(f"{self.name} must be a number, got {value!r}") from None
        elif self.type == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be true or false, got {value!r}")
            out = value
        elif self.type == "list":
            if not isinstance(value, list):
                raise ValueError(f"{self.name} must be a list, got {value!r}")
            out = value
        elif self.type == "timestamp":
            out = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            if out.tzinfo is None:
                raise ValueError(f"{self.name} must carry a time zone, got {value!r}")
        else:
            if isinstance(value, (dict, list)):
                raise ValueError(f"{self.name} must be text, got {value!r}")
            out = str(value)
        if self.values is not None and out not in self.values:
            allowed = ", ".join(map(str, self.values))
            raise ValueError(f"{self.name} must be one of {allowed}; got {out!r}")
        return out


@dataclass(frozen=True)
class KindSpec:
    """A record kind: name, title and fields."""

    name: str
    title: str
    fields: Mapping[str, FieldSpec]


@dataclass
class RecordKinds:
    """All declared kinds, plus which fields are personal identifiers."""

    kinds: dict[str, KindSpec] = field(default_factory=dict)
    personal: frozenset[str] = frozenset({"person"})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RecordKinds:
        """Build from the parsed YAML shape ``{kinds: {name: {title, fields}}, personal: [...]}``."""
        raw = data.get("kinds")
        if not isinstance(raw, Mapping):
            raise KindsError("kinds file needs a top-level 'kinds' mapping")
        kinds: dict[str, KindSpec] = {}
        for name, spec in raw.items():
            if not isinstance(spec, Mapping) or not isinstance(spec.get("fields", {}), Mapping):
                raise KindsError(f"kind {name!r} needs a 'fields' mapping")
            fields: dict[str, FieldSpec] = {}
            for fname, ftype in (spec.get("fields") or {}).items():
                values = None
                if isinstance(ftype, Mapping):
                    values = tuple(ftype["values"]) if "values" in ftype else None
                    ftype = ftype.get("type", "string")
                if ftype not in FIELD_TYPES:
                    raise KindsError(f"kind {name!r} field {fname!r}: unknown type {ftype!r}")
                if fname in COMMON_FIELDS:
                    raise KindsError(f"kind {name!r} field {fname!r} is common to every record")
                fields[str(fname)] = FieldSpec(str(fname), str(ftype), values)
            kinds[str(name)] = KindSpec(str(name), str(spec.get("title", name)), fields)
        personal = frozenset(str(p) for p in data.get("personal", ["person"]))
        return cls(kinds, personal)

    @classmethod
    def load(cls, path: Path) -> RecordKinds:
        """Read a kinds YAML file."""
        return cls.from_mapping(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    def get(self, kind: str) -> KindSpec:
        """The spec of ``kind``; ``KeyError`` naming the known kinds if there is none."""
        try:
            return self.kinds[kind]
        except KeyError:
            raise KeyError(f"unknown record kind {kind!r}; known: {', '.join(sorted(self.kinds))}") from None

    def coerce(self, kind: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and convert a record's own fields; ``ValueError`` names the first bad field."""
        spec = self.get(kind)
        out: dict[str, Any] = {}
        for name, value in attributes.items():
            fs = spec.fields.get(name)
            if fs is None:
                raise ValueError(f"{kind} records have no field {name!r}")
            if value is not None:
                out[name] = fs.coerce(value)
        return out
