"""Synthetic residents: made-up names, well-formed 18-digit ID-card numbers (GB 11643 check digit) and
mobile numbers. Raw identifiers on purpose: departmental systems hold them raw, Fenghuo must not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林郑梁谢宋唐许邓冯韩曹曾彭"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅兰志文斌玉"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of the first 17 digits of an ID-card number."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


@dataclass(frozen=True)
class Person:
    """A synthetic resident."""

    name: str
    id_card: str
    phone: str


def make_person(rng: random.Random, district6: str) -> Person:
    """A resident registered in ``district6`` (6-digit district code), born 1940–2005."""
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))
    first17 = f"{district6}{born:%Y%m%d}{rng.randrange(1000):03d}"
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
    phone = "1" + rng.choice("3456789") + f"{rng.randrange(10**9):09d}"
    return Person(name, first17 + id_check_digit(first17), phone)
