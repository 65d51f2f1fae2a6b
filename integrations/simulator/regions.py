"""The simulated city's region tree: Chengdu (510100) and ten real districts with their real codes, and
made-up streets (街道), communities (社区) and grids (网格) below them.

The tree does not depend on the data seed: rule files, responders and tests can name its codes. Each
district has 4 streets, each street 4 communities, each community 3 grids (160 communities, 480 grids).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

CITY_CODE = "510100000000"
CITY_NAME = "成都市"

DISTRICTS: dict[str, str] = {
    "510104": "锦江区",
    "510105": "青羊区",
    "510106": "金牛区",
    "510107": "武侯区",
    "510108": "成华区",
    "510112": "龙泉驿区",
    "510113": "青白江区",
    "510114": "新都区",
    "510115": "温江区",
    "510116": "双流区",
}
"""Real district codes (6 digits) and names."""

STREETS_PER_DISTRICT = 4
COMMUNITIES_PER_STREET = 4
GRIDS_PER_COMMUNITY = 3

# Syllables for made-up place names; any resemblance to a real street is chance.
_FIRST = "春锦青金桂芙蓉玉府华兴安和光明新龙泉凤凰柳荷梅竹松望江沙湾双桥水井红星文殊白果"
_SECOND = "林苑塘坝园湾桥岗坪街坊院堰溪湖台路里"


@dataclass(frozen=True)
class RegionTree:
    """Codes of the simulated city, finest level first in use: grids inside communities inside streets."""

    names: dict[str, str]
    streets: dict[str, list[str]]  # district code (12 digits) -> street codes
    communities: dict[str, list[str]]  # street code -> community codes
    grids: dict[str, list[str]]  # community code -> grid codes (15 digits)

    @property
    def all_grids(self) -> list[str]:
        """Every grid code, in code order."""
        return [g for c in sorted(self.grids) for g in self.grids[c]]

    @property
    def all_communities(self) -> list[str]:
        """Every community code, in code order."""
        return sorted(self.grids)

    def grids_in(self, prefix: str) -> list[str]:
        """Grid codes whose code starts with ``prefix`` (a district's 6 digits, a street's 9…)."""
        return [g for g in self.all_grids if g.startswith(prefix)]


def _name(rng: random.Random, used: set[str], suffix: str) -> str:
    while True:
        name = rng.choice(_FIRST) + rng.choice(_FIRST) + rng.choice(_SECOND)
        if name not in used:
            used.add(name)
            return name + suffix


@lru_cache(maxsize=1)
def region_tree() -> RegionTree:
    """The simulated city's region tree (always the same)."""
    rng = random.Random(510100)
    names = {CITY_CODE: CITY_NAME}
    streets: dict[str, list[str]] = {}
    communities: dict[str, list[str]] = {}
    grids: dict[str, list[str]] = {}
    used: set[str] = set()
    for dcode, dname in DISTRICTS.items():
        district = dcode + "000000"
        names[district] = dname
        streets[district] = []
        for s in range(1, STREETS_PER_DISTRICT + 1):
            street = f"{dcode}{s:03d}000"
            names[street] = _name(rng, used, "街道")
            streets[district].append(street)
            communities[street] = []
            for c in range(1, COMMUNITIES_PER_STREET + 1):
                community = f"{dcode}{s:03d}{c:03d}"
                names[community] = _name(rng, used, "社区")
                communities[street].append(community)
                grids[community] = []
                for g in range(1, GRIDS_PER_COMMUNITY + 1):
                    grid = f"{community}{g:03d}"
                    names[grid] = f"{names[community]}第{g}网格"
                    grids[community].append(grid)
    return RegionTree(names, streets, communities, grids)


def region_directory() -> dict[str, str]:
    """``{code: name}`` of every node of the simulated city, the shape ``RegionDirectory`` loads."""
    return dict(region_tree().names)
