"""Live evaluation as the command line and the scheduled flow run it, under the store's lease (no Prefect).

- :func:`evaluate_once`: evaluate what is pending and releasable, then return; gives way (returns the
  holder's name) while another process holds the lease — a resident evaluator, or another run.
- :func:`follow`: the resident evaluator. Waits as a hot standby while another holds the lease (the lock
  dies with its holder, kill -9 included, so a standby takes over within its poll), then keeps the
  evaluator in memory and evaluates records as they are committed — on PostgreSQL woken by the ingest's
  ``NOTIFY`` at commit, polling as the fallback; on SQLite polling at most every second — and logs one
  line a minute. A hot edit of the rule files takes effect at the next batch: a cheap stamp of the files
  (sizes and times) is compared each batch, and a new rulebook version rebuilds the evaluator's state from
  the stored records (:mod:`integrations.store.rebuild`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from domain.watermarks import SourceTiming
from integrations.i18n import _
from integrations.route import Routing
from integrations.settings import Settings, get_settings
from integrations.store.lease import Lease, store_lease
from integrations.store.live import EvaluationReport
from rules.language.loader import Rulebook, rulebook_stamp

if TYPE_CHECKING:
    from integrations.evaluation import LiveEvaluator

__all__ = ["LeaseHeld", "LiveParts", "evaluate_once", "follow", "live_parts"]


@dataclass
class LeaseHeld:
    """Another process holds the evaluator's lease; ``holder`` is how it named itself."""

    holder: str


@dataclass
class LiveParts:
    """What a live evaluator needs from the configuration."""

    rulebook: Rulebook
    routing: Routing | None
    timings: dict[str, SourceTiming]
    kinds: dict[str, frozenset[str]]
    """Each record kind's sources: live evaluation releases each rule group by its own sources."""


def _from_sources(settings: Settings) -> tuple[dict[str, SourceTiming], dict[str, frozenset[str]]]:
    from integrations.sources.config import SourcesFileError
    from integrations.sources.factory import configured_sources
    from rules.run.release_groups import kind_sources

    try:
        sources = configured_sources(settings)
    except SourcesFileError:
        # The ingest reports the broken file; evaluation goes on with the default timing, every rule
        # held by every source (no kind's sources known).
        return {}, {}
    return dict(sources.timings), kind_sources((s.name, s.config.kind) for s in sources.specs)


def live_parts(settings: Settings, routed: bool = True) -> LiveParts:
    """What a live evaluator needs from the configuration: rulebook, routing, the sources' timing."""
    from flows.context import RoutingContext
    from rules.language.loader import load_rulebook

    rulebook = load_rulebook([settings.rulebook])
    # The rulebook's cluster rules bring their default inhibitions to the policy the new warnings pin.
    routing = RoutingContext.load(settings, rulebook.rules).routing() if routed else None
    return LiveParts(rulebook, routing, *_from_sources(settings))


def evaluate_once(engine: sa.Engine, *, now: datetime | None = None, who: str | None = None,
                  settings: Settings | None = None) -> EvaluationReport | LeaseHeld:
    """One evaluation of what is pending, holding the lease while it runs; :class:`LeaseHeld` if taken."""
    from integrations.evaluation import evaluate_pending

    settings = settings or get_settings()
    lease = store_lease(engine, who=who)
    if not lease.try_acquire():
        return LeaseHeld(lease.holder() or "unknown")
    try:
        parts = live_parts(settings)
        return evaluate_pending(engine, parts.rulebook, now=now or datetime.now(UTC), routing=parts.routing,
                                timings=parts.timings, watch_sources=True, who=lease.holder() or "",
                                kinds=parts.kinds)
    finally:
        lease.release()


def _say_rebuilt(live: LiveEvaluator, say: Callable[[str], None]) -> None:
    if live.rebuilt is not None:
        say(_("规则库版本 {version} 是新版本：已用回溯期内存储的 {records} 条记录重建其时间窗；"
              "变更已记入审计日志").format(version=live.rulebook.version[:12], records=live.rebuilt.records))


def _reloaded(engine: sa.Engine, live: LiveEvaluator, settings: Settings, say: Callable[[str], None]) -> LiveEvaluator:
    """After the rule files changed: the resident evaluator of the new rulebook version (its state rebuilt
    from the store, :mod:`integrations.store.rebuild`), or ``live`` itself when the version is the same."""
    from integrations.evaluation import live_evaluator

    parts = live_parts(settings)
    if parts.rulebook.version == live.rulebook.version:
        return live
    say(_("规则文件已变更：规则库版本 {old} → {new}").format(old=live.rulebook.version[:12],
                                                     new=parts.rulebook.version[:12]))
    fresh = live_evaluator(engine, parts.rulebook, kinds=parts.kinds, routing=parts.routing, timings=parts.timings,
                           watch_sources=True, who=live.who, checkpoint_every=(live.every_s, live.every_records),
                           batch_size=live.batch_size, background_checkpoints=True)
    live.close()
    _say_rebuilt(fresh, say)
    return fresh


def minute_line(live: LiveEvaluator, records: int, warnings: int, now: datetime) -> str:
    """The resident evaluator's line a minute: records evaluated and warnings opened or raised since the
    last line, how far the slowest group has evaluated and its lag behind ``now`` (event time), and what
    waits: releasable now, or held by the sources' watermarks."""
    from flows.console import beijing  # the CLI's console (typer, rich): not at the served flow's import

    ready, held = live.pending(now)
    upto = live.position.upto
    where = _("尚无") if upto is None else _("{at}（滞后 {lag} 秒）").format(
        at=beijing(upto, seconds=True), lag=f"{max(0.0, (now - upto).total_seconds()):.0f}")
    return _("{now} 最近一分钟评估 {records} 条记录，新开或上调预警 {warnings} 条；最慢的规则组已评估至 {upto}；"
             "等待中：可放行 {ready} 条，水位线暂扣 {held} 条").format(
        now=beijing(now, seconds=True), records=records, warnings=warnings, upto=where, ready=ready, held=held)


def follow(engine: sa.Engine, *, say: Callable[[str], None], poll_s: float = 0.5, log_every_s: float = 60.0,
           who: str | None = None, stop: Callable[[], bool] = lambda: False,
           settings: Settings | None = None, holding: Callable[[], None] | None = None,
           committed: Callable[[], None] | None = None) -> None:
    """The resident evaluator (see the module); returns when ``stop()`` says so. ``holding`` is called once
    the lease is held, ``committed`` after each committed batch (:mod:`flows.live_delivery` starts and
    wakes its delivery thread with them)."""
    from integrations.evaluation import live_evaluator
    from integrations.store.wakeup import wakeup_for

    settings = settings or get_settings()
    lease: Lease = store_lease(engine, who=who)
    waiting_for: str | None = None
    while not lease.try_acquire():
        holder = lease.holder() or _("未知")
        if holder != waiting_for:
            say(_("待命：评估租约由 {holder} 持有；它停止后接手").format(holder=holder))
            waiting_for = holder
        if stop():
            return
        time.sleep(1.0)
    try:
        say(_("常驻评估 {holder} 持有租约").format(holder=lease.holder()))
        if holding is not None:
            holding()
        stamp = rulebook_stamp([settings.rulebook])  # before loading: an edit meanwhile is seen at the first batch
        parts = live_parts(settings)
        live = live_evaluator(engine, parts.rulebook, kinds=parts.kinds, routing=parts.routing, timings=parts.timings,
                              watch_sources=True, who=lease.holder() or "", batch_size=settings.live_batch_records,
                              checkpoint_every=(settings.checkpoint_every_s, settings.checkpoint_every_records),
                              background_checkpoints=True)  # its periodic checkpoints are encoded in a child
        say(_("从上一检查点开始评估；已重放其后提交的 {n} 条记录").format(n=live.replayed))
        _say_rebuilt(live, say)
        clean = False
        wake = wakeup_for(engine)  # PostgreSQL: woken by the ingest's NOTIFY at commit; else polling
        records = warnings = 0
        last_log = time.monotonic()
        try:
            while not stop():
                if not lease.held():
                    say(_("失去评估租约（数据库连接中断）；停止"))
                    return
                # A hot edit of the rule files takes effect at the next batch: the stamp costs a few stats.
                if (now_stamp := rulebook_stamp([settings.rulebook])) != stamp:
                    stamp = now_stamp
                    live = _reloaded(engine, live, settings, say)
                report = live.run(datetime.now(UTC), None if committed is None else lambda _: committed())
                records += report.records
                warnings += report.opened + report.raised
                if time.monotonic() - last_log >= log_every_s:
                    say(minute_line(live, records, warnings, datetime.now(UTC)))
                    records = warnings = 0
                    last_log = time.monotonic()
                # A run takes everything it can now; records committed meanwhile wake a listener at once,
                # so only a poller looks again straight after a run that found records.
                if report.records == 0 or wake.tells:
                    wake.wait(poll_s)
            clean = True
        finally:
            wake.close()
            try:
                if clean and lease.held():
                    # A clean stop writes the full state: the next start replays nothing.
                    written = live.checkpoint(datetime.now(UTC))
                    if written is not None:
                        say(_("检查点已写入：{size} 字节，用时 {seconds} 秒").format(
                            size=written.size_bytes, seconds=f"{written.seconds:.3f}"))
            finally:
                live.close()
    finally:
        lease.release()
