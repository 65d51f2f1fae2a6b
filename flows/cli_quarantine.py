"""``fenghuo quarantine …``: list, show and replay input that failed validation.

``replay`` re-maps the stored payload with the CURRENT sources file (after the mapping or the department
was fixed): valid ones are stored as if they had just arrived, still-invalid ones keep a new reason.
Prefect is never imported here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from flows.console import console, fail, open_engine, print_json

app = typer.Typer(help="List, show and replay quarantined input.", no_args_is_help=True)


def _row(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in
            ("id", "source", "source_id", "page", "reason", "received_at", "replayed_at")}


@app.command("list")
def list_cmd(
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    replayed: Annotated[bool, typer.Option(help="include rows already replayed")] = False,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts")] = False,
) -> None:
    """Quarantined input, oldest first (not yet replayed, unless --replayed)."""
    from integrations.store.db import session_scope
    from integrations.store.records import list_quarantine

    with session_scope(open_engine()) as s:
        rows = list_quarantine(session=s, source=source, limit=limit, include_replayed=replayed)
    if as_json:
        for r in rows:
            print_json(_row(r))
        return
    table = Table(box=box.SIMPLE, title=f"{len(rows)} quarantined")
    for column in ("id", "source", "source id", "received", "reason"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(str(r.id), r.source, r.source_id or "-", r.received_at.isoformat(timespec="seconds"),
                      r.reason[:160] + (" [replayed]" if r.replayed_at else ""))
    console.print(table)


@app.command("show")
def show_cmd(
    entry: Annotated[int, typer.Argument(help="quarantine id")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts")] = False,
) -> None:
    """One quarantined input: its reason, the page it came on, and the raw payload (pseudonymised)."""
    from integrations.store.db import session_scope
    from integrations.store.models import QuarantineRow

    with session_scope(open_engine()) as s:
        row = s.get(QuarantineRow, entry)
    if row is None:
        fail(f"no quarantine entry {entry}; see `fenghuo quarantine list`")
    if as_json:
        print_json({**_row(row), "raw": row.raw})
        return
    for label, value in (("id", row.id), ("source", row.source), ("source id", row.source_id or "-"),
                         ("page", row.page or "-"), ("received", row.received_at.isoformat(timespec="seconds")),
                         ("replayed", row.replayed_at.isoformat(timespec="seconds") if row.replayed_at else "no"),
                         ("reason", row.reason)):
        console.print(f"[bold]{label:>9}[/]: {value}", highlight=False)
    console.print("[bold]      raw[/]:")
    console.print(row.raw, highlight=False, markup=False, soft_wrap=True)


@app.command("replay")
def replay_cmd(
    ids: Annotated[list[int] | None, typer.Argument(help="quarantine ids to replay")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every entry not yet replayed")] = False,
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts")] = False,
) -> None:
    """Map quarantined payloads again with the current sources file; store the ones now valid."""
    from domain.kinds import RecordKinds
    from integrations.replay import built_in_sources, replay_quarantine
    from integrations.settings import PACKAGE_ROOT, get_settings
    from integrations.sources.config import SourcesFileError, load_sources

    if not ids and not all_:
        fail("请给出要重放的隔离编号，或用 --all（可加 --source 只重放一个来源）")
    settings = get_settings()
    own = settings.rulebook / "kinds.yaml"
    kinds = RecordKinds.load(own if own.is_file() else PACKAGE_ROOT / "rules" / "kinds.yaml")
    try:
        configs = {**built_in_sources(kinds),
                   **{s.name: s.config for s in load_sources(settings.sources_file, settings=settings).specs}}
    except SourcesFileError as exc:
        fail(f"数据源配置文件有误，请先修正（`fenghuo sources check`）：\n{exc}")
    report = replay_quarantine(open_engine(), None if all_ else ids, configs=configs, kinds=kinds,
                               key=settings.pseudonym_key.get_secret_value(), now=datetime.now(UTC), source=source)
    if as_json:
        print_json({"replayed": report.replayed, "still_invalid": report.still_invalid, "skipped": report.skipped,
                    "inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged})
        return
    console.print(f"replayed {len(report.replayed)} (stored: {report.inserted} new, {report.updated} changed, "
                  f"{report.unchanged} unchanged); still invalid {len(report.still_invalid)}; "
                  f"skipped {len(report.skipped)}", highlight=False)
    for qid, reason in report.still_invalid.items():
        console.print(f"  {qid}: {reason}", highlight=False, markup=False)
    for qid, reason in report.skipped.items():
        console.print(f"  {qid}: skipped, {reason}", highlight=False, markup=False)
    if report.skipped and not report.replayed and not report.still_invalid:
        raise typer.Exit(1)
