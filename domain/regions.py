"""Administrative regions: city > district > street > community > grid.

Codes are the 12-digit statistical division codes (PP CC DD TTT VVV) with 3 more digits for a grid.
An ancestor's code is a prefix of the region's code padded with zeros to 12 digits; a grid keeps all 15.
Ancestry comes from the code itself; names come from a :class:`RegionDirectory` when one is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from domain.messages import N_, Message


class Tier(StrEnum):
    """An administrative tier, finest last."""

    city = "city"
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"

    @property
    def digits(self) -> int:
        """How many leading digits of a code name this tier."""
        return _DIGITS[self]

    @property
    def rank(self) -> int:
        """0 for city … 4 for grid."""
        return TIERS.index(self)

    def parent(self) -> Tier | None:
        """The tier above, or ``None`` above the city."""
        return TIERS[self.rank - 1] if self.rank > 0 else None

    @property
    def label(self) -> str:
        """Chinese name of the tier."""
        return _LABELS[self]


TIERS: tuple[Tier, ...] = (Tier.city, Tier.district, Tier.street, Tier.community, Tier.grid)
_DIGITS = {Tier.city: 4, Tier.district: 6, Tier.street: 9, Tier.community: 12, Tier.grid: 15}
_LABELS = {Tier.city: "市", Tier.district: "区县", Tier.street: "街道乡镇", Tier.community: "社区村", Tier.grid: "网格"}
_CODE = re.compile(r"^\d{12}(\d{3})?$")


class RegionCodeError(ValueError):
    """A string is not a 12- or 15-digit region code."""


def validate_code(code: str) -> str:
    """Return ``code`` if it is a well-formed region code, else raise :class:`RegionCodeError`."""
    if not isinstance(code, str) or not _CODE.match(code):
        raise RegionCodeError(Message(N_("地区代码须为 12 位数字（网格为 15 位），得到 {code}"), code=repr(code)))
    return code


def ancestor(code: str, tier: Tier) -> str | None:
    """The code of ``code``'s ancestor at ``tier`` (itself at its own tier), or ``None`` if finer than it."""
    validate_code(code)
    if tier is Tier.grid:
        return code if len(code) == 15 else None
    if tier_of(code).rank < tier.rank:
        return None
    return code[: tier.digits].ljust(12, "0")


def tier_of(code: str) -> Tier:
    """The finest tier a code names (``510104001002`` is a community, ``510104000000`` a district)."""
    validate_code(code)
    if len(code) == 15:
        return Tier.grid
    if code[9:12] != "000":
        return Tier.community
    if code[6:9] != "000":
        return Tier.street
    if code[4:6] != "00":
        return Tier.district
    return Tier.city


def ancestors(code: str) -> dict[str, str]:
    """Every tier's ancestor code of ``code`` that exists, keyed by tier name (``{"city": …, …}``)."""
    out: dict[str, str] = {}
    for tier in TIERS:
        anc = ancestor(code, tier)
        if anc is not None:
            out[tier.value] = anc
    return out


def is_within(code: str, root: str) -> bool:
    """True if ``code`` lies in the subtree of ``root`` (a node is within itself)."""
    root_tier = tier_of(root)
    return ancestor(code, root_tier) == root


def subtree_prefix(root: str) -> str:
    """The leading digits every code within ``root`` shares (:func:`is_within`): a store can read a subtree
    as the codes from this prefix up to, not including, the prefix followed by ``":"`` (the character after
    ``"9"``)."""
    return root[: tier_of(root).digits]


@dataclass
class RegionDirectory:
    """Names of region codes. Codes not listed are still valid; they are shown by code."""

    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RegionDirectory:
        """Build from ``{code: name}``; every key is validated."""
        return cls({validate_code(str(code)): str(name) for code, name in data.items()})

    @classmethod
    def load(cls, path: Path) -> RegionDirectory:
        """Read a YAML ``{code: name}`` file; a missing file is an empty directory."""
        if not path.exists():
            return cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names = data.get("regions", data) if isinstance(data, dict) else {}
        return cls.from_mapping(names or {})

    def name(self, code: str) -> str:
        """The node's name, or its code when unnamed."""
        return self.names.get(code, code)

    def path(self, code: str) -> str:
        """A readable path from the city down, e.g. ``成都市 / 锦江区 / 春熙路街道``."""
        parts = [self.name(c) for c in ancestors(code).values()]
        return " / ".join(dict.fromkeys(parts))

    def children(self, code: str) -> Iterable[str]:
        """Named nodes directly below ``code``."""
        tier = tier_of(code)
        below = TIERS[tier.rank + 1] if tier.rank + 1 < len(TIERS) else None
        if below is None:
            return []
        return sorted(c for c in self.names if tier_of(c) is below and ancestor(c, tier) == code)
