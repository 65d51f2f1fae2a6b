"""Compare two rulebooks on the same records (``fenghuo backtest --compare OLD``, language 1.1).

Both backtests' warnings are matched by fingerprint. A fingerprint is the rule id and the ``group_by``
values (:func:`domain.warnings.fingerprint`), never the rulebook's content or version, so the same
warning matches across two versions of a rule; a rule renamed is a warning removed and one added.
A backtest resolves nothing, so each fingerprint is at most one warning per side.

Each difference is one dict, exactly the contract's keys: ``change`` (``added``, ``removed``,
``changed``), ``rule``, ``fingerprint``, ``region``, then ``level``/``occurrences`` (absent for a
removed warning) and ``old_level``/``old_occurrences`` (absent for an added one). ``changed`` means the
level or the number of occurrences differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["compare_rows"]


def compare_rows(new: Sequence[dict[str, Any]], old: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The differences between two backtests' rows (``rules.run.backtest.warning_row``): the added and
    changed warnings in the new backtest's order, then the removed ones in the old backtest's order."""
    before = {row["fingerprint"]: row for row in old}
    after = {row["fingerprint"]: row for row in new}
    out: list[dict[str, Any]] = []
    for fp, row in after.items():
        was = before.get(fp)
        if was is None:
            out.append({"change": "added", "rule": row["rule"], "fingerprint": fp, "region": row["region"],
                        "level": row["level"], "occurrences": row["occurrences"]})
        elif (was["level"], was["occurrences"]) != (row["level"], row["occurrences"]):
            out.append({"change": "changed", "rule": row["rule"], "fingerprint": fp, "region": row["region"],
                        "level": row["level"], "old_level": was["level"],
                        "occurrences": row["occurrences"], "old_occurrences": was["occurrences"]})
    for fp, was in before.items():
        if fp not in after:
            out.append({"change": "removed", "rule": was["rule"], "fingerprint": fp, "region": was["region"],
                        "old_level": was["level"], "old_occurrences": was["occurrences"]})
    return out
