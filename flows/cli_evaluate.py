"""``fenghuo evaluate --once | --follow``: live evaluation from the command line (never starts Prefect).

``--once`` evaluates what is pending and releasable and exits 0, or exits 3 naming the holder while
another process (a resident evaluator) holds the evaluator's lease. ``--follow`` is the resident
evaluator: a second one waits as a hot standby and takes over when the first dies (see :mod:`flows.live`);
the holder also delivers the outbox as its batches commit (:mod:`flows.live_delivery`).
"""

from __future__ import annotations

import os
import signal
import socket
from typing import Annotated, Any

import typer

from flows.console import console, err_console, fail
from integrations.i18n import _, translate

LEASE_HELD_EXIT = 3
"""Exit code of ``evaluate --once`` while another process holds the evaluator's lease."""


def _who(mode: str) -> str:
    # The pid first: PostgreSQL keeps 63 characters of the name (application_name), the rest may be cut.
    return f"pid {os.getpid()} on {socket.gethostname()} (evaluate --{mode})"


def evaluate_cmd(
    once: Annotated[bool, typer.Option("--once", help=_("研判待处理的记录后退出"))] = False,
    follow_: Annotated[bool, typer.Option("--follow", help=_(
            "常驻研判：记录到达即持续研判（另起的一个作为备用等待）"))] = False,
) -> None:
    """Evaluate the rules over the stored records as the sources' watermarks release them."""
    from flows.console import open_engine
    from flows.live import LeaseHeld, evaluate_once
    from flows.live_delivery import follow_and_deliver

    if once == follow_:
        fail(_("请给出 --once（评估一次后退出）或 --follow（常驻评估）之一"))
    engine = open_engine()
    if once:
        result = evaluate_once(engine, who=_who("once"))
        if isinstance(result, LeaseHeld):
            fail(_("评估租约由 {holder} 持有（常驻评估进程正在运行），本次不评估；由它评估即可，或先停止它").format(
                holder=result.holder), code=LEASE_HELD_EXIT)
        late = _("，其中迟到 {n} 条").format(n=result.late) if result.late else ""
        console.print(_("已评估 {records} 条记录{late}：新开 {opened}，升级 {raised}，更新 {updated}").format(
            records=result.records, late=late, opened=result.opened, raised=result.raised, updated=result.updated),
            highlight=False)
        for problem in result.errors:
            err_console.print(_("记录未能评估（已隔离）：{problem}").format(problem=translate(problem)),
                              highlight=False)
        return
    stopping = {"flag": False}

    def on_term(*_: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    try:
        follow_and_deliver(engine, say=lambda s: err_console.print(s, highlight=False, soft_wrap=True),
                           who=_who("follow"), stop=lambda: stopping["flag"])
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
