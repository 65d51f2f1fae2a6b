"""``fenghuo sources status``: per source, how far it has delivered and whether it holds live evaluation.

Per configured source (and any other that has delivered): the latest record's time, the last heartbeat
("complete up to"), the last delivery, the lag behind now, the state (live, late, stale: a stale source no
longer holds live evaluation back), and how many items were quarantined in the last day. Times in Beijing
time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from domain.beijing import BEIJING
from flows.console import console, print_json
from integrations.i18n import N_, _

STATE = {"live": N_("实时"), "late": N_("迟到"), "stale": N_("停滞")}
"""A source's state as an operator reads it (watermarks: live, late, stale)."""


def _when(value: datetime | None) -> str:
    return value.astimezone(BEIJING).strftime("%m-%d %H:%M") if value else "-"


def _lag(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    hours = delta.total_seconds() / 3600
    return _("{n} 小时").format(n=f"{hours:.1f}") if hours < 48 else _("{n} 天").format(n=f"{hours / 24:.1f}")


def status_cmd(as_json: Annotated[bool, typer.Option("--json", help=_("每行一条 JSON，供脚本使用"))] = False) -> None:
    """Each source's last record, last heartbeat, lag, state and quarantined items of the last day."""
    from domain.watermarks import DEFAULT_TIMING, SourceMark, source_bound, state_of
    from flows.console import open_engine
    from integrations.settings import get_settings
    from integrations.sources.config import SourcesFileError
    from integrations.sources.factory import configured_sources
    from integrations.store.db import session_scope
    from integrations.store.watermarks import current_release_bound, quarantined_since, source_marks

    try:
        timings = configured_sources(get_settings()).timings
    except SourcesFileError:
        timings = {}
    now = datetime.now(UTC)
    with session_scope(open_engine()) as session:
        marks = source_marks(session=session)
        bad = quarantined_since(session=session, since=now - timedelta(days=1))
        bound = current_release_bound(session=session, timings=timings, now=now)
    rows = []
    table = Table(title=_("数据来源状态（北京时间）"), box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for col in (_("来源"), _("最新记录"), _("完整至"), _("最近送达"), _("滞后"), _("状态"), _("隔离")):
        table.add_column(col, no_wrap=True)
    style = {"live": "green", "late": "yellow", "stale": "red"}
    for name in [*timings, *sorted(set(marks) - set(timings))]:
        mark = marks.get(name, SourceMark(name, None, None, None))
        timing = timings.get(name, DEFAULT_TIMING)
        up_to = source_bound(mark, timing)
        lag = now - up_to if up_to else None
        state = state_of(mark, timing, now).value
        rows.append({"source": name, "last_record": mark.latest_at, "complete_up_to": mark.complete_up_to,
                     "last_delivery": mark.delivered_at, "lag_s": lag.total_seconds() if lag else None,
                     "state": state, "quarantined_24h": bad.get(name, 0)})
        table.add_row(name, _when(mark.latest_at), _when(mark.complete_up_to), _when(mark.delivered_at), _lag(lag),
                      f"[{style[state]}]{_(STATE[state])}[/]", str(bad.get(name, 0)))
    if as_json:
        for row in rows:
            print_json(row)
        return
    console.print(table)
    released = _when(bound) if bound else _("（没有实时来源限制）")
    console.print(_("实时评估已放行至 {released}；停滞的来源（静默超过其 stale_after，或从未送达）不再阻挡评估").format(
        released=released), highlight=False)
