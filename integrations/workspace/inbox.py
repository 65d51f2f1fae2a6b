"""The inbox's reads: a responder's warnings (their region subtree only) with the filters of the page,
and the counts per level. Jurisdiction is part of the query itself, never a filter applied afterwards."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from domain.regions import RegionDirectory, is_within, tier_of
from domain.warnings import Status
from integrations.store.models import WarningRow
from integrations.store.warnings import STALE

STATUSES = ("unresolved", "open", "acknowledged", "resolved", "all")
UNRESOLVED = (Status.open.value, Status.acknowledged.value, STALE)
"""Every status but resolved, named: ``status IN (…)`` seeks the (status, region) index, ``!=`` cannot."""
LIMIT = 200
"""Rows shown at most; the counts cover everything."""


@dataclass(frozen=True)
class Filters:
    """The inbox's filters as the page's query string gives them."""

    level: str = ""
    status: str = "unresolved"
    rule: str = ""
    place: str = ""
    mine: bool = False


def subtree(root: str) -> sa.ColumnElement[bool]:
    """Warnings whose region lies in ``root``'s subtree: codes are prefix-structured, so the subtree is the
    range [prefix, prefix + 1) — an index range on every backend, where ``LIKE 'prefix%'`` is a scan
    (PostgreSQL outside the C collation, SQLite unless case-sensitive)."""
    prefix = root[: tier_of(root).digits]
    region = col(WarningRow.region)
    above = str(int(prefix) + 1).zfill(len(prefix))
    if len(above) > len(prefix):  # all nines: no code is above the subtree
        return region >= prefix
    return sa.and_(region >= prefix, region < above)


def places_named(text: str, root: str, names: RegionDirectory) -> list[str]:
    """Codes in ``root``'s subtree whose name contains ``text`` (a district or street by name)."""
    return [code for code, name in names.names.items() if text in name and is_within(code, root)]


def _level_rank() -> sa.Case[int]:
    return sa.case({"red": 0, "orange": 1, "yellow": 2, "blue": 3}, value=col(WarningRow.level), else_=9)


def inbox(*, session: Session, root: str, node: str, leadership: bool, filters: Filters,
          names: RegionDirectory) -> list[WarningRow]:
    """Warnings of ``root``'s subtree matching ``filters``, red first, then newest."""
    query = select(WarningRow).where(subtree(root))
    if filters.status == "unresolved" or filters.mine:
        query = query.where(col(WarningRow.status).in_(UNRESOLVED))
    if filters.status in ("open", "acknowledged", "resolved"):
        query = query.where(WarningRow.status == filters.status)
    if filters.level:
        query = query.where(WarningRow.level == filters.level)
    if filters.rule:
        query = query.where(WarningRow.rule == filters.rule)
    if filters.mine:
        # Needs my action: the warning is held by my own node now (for the duty leadership: the top tier).
        query = query.where(WarningRow.tier == "leadership" if leadership else WarningRow.route_region == node)
    if filters.place:
        codes = places_named(filters.place, root, names)
        if not codes:
            return []
        query = query.where(sa.or_(*(subtree(code) for code in codes[:200])))
    query = query.order_by(_level_rank(), col(WarningRow.last_at).desc(), col(WarningRow.id).desc())
    return list(session.exec(query.limit(LIMIT)))


def level_counts(*, session: Session, root: str) -> dict[str, int]:
    """Unresolved warnings of ``root``'s subtree per level."""
    query = (select(WarningRow.level, func.count()).where(subtree(root), col(WarningRow.status).in_(UNRESOLVED))
             .group_by(WarningRow.level))
    return {level: int(n) for level, n in session.exec(query)}


def rules_in(*, session: Session, root: str, status: str = "unresolved") -> list[str]:
    """The rules that have warnings of ``status`` (a filter value) in ``root``'s subtree (for the rule
    filter): the page's own status, so the list costs what the page does."""
    query = select(WarningRow.rule).where(subtree(root))
    if status == "unresolved":
        query = query.where(col(WarningRow.status).in_(UNRESOLVED))
    elif status in ("open", "acknowledged", "resolved"):
        query = query.where(WarningRow.status == status)
    return list(session.exec(query.distinct().order_by(col(WarningRow.rule))))
