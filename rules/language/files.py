"""Files of a rulebook: finding the YAML under PATHs, naming them in errors, telling rules from other
YAML, and the content hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.messages import N_, Message
from rules.language.positions import plain


def display_path(path: Path) -> str:
    """How errors name a file: relative to the working folder when under it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def yaml_files(paths: Iterable[Path]) -> list[Path]:
    """Every ``*.yaml`` file under the PATHs (a file PATH is taken as is), sorted, without repeats.

    Hidden folders (``.venv``, ``.git``…) under a folder PATH are not searched."""
    out: dict[Path, None] = {}
    for path in paths:
        found = [path]
        if path.is_dir():
            found = sorted(f for f in path.rglob("*.yaml") if not _hidden(f.relative_to(path)))
        for f in found:
            out.setdefault(f, None)
    return list(out)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _canonical(value: Any) -> Any:
    """JSON-ready form with stable types (dates and durations as text)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def content_digest(rule_data: list[Any], kinds_data: Any, calendars_data: Any, failed: Sequence[str] = ()) -> str:
    """SHA-256 of the canonical JSON of the rule files (sorted), kinds and calendars, and of the names of
    the files that ``failed`` to load (when any): comments, key order and layout do not change it; any
    content does."""
    docs = sorted(json.dumps(_canonical(plain(d)), sort_keys=True, ensure_ascii=False) for d in rule_data)
    content: dict[str, Any] = {
        "rules": docs,
        "kinds": _canonical(plain(kinds_data)),
        "calendars": _canonical(plain(calendars_data)),
    }
    if failed:  # only then: a rulebook that loads whole keeps the version it had
        content["failed"] = sorted(failed)
    canon = json.dumps(
        content,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def file_digests(rule_data: dict[Path, Any], kinds: tuple[Path | None, Any],
                 calendars: tuple[Path | None, Any]) -> dict[str, str]:
    """Each file's own content digest (the canonical form of :func:`content_digest`), by displayed path:
    which files an edit changed."""
    out = {display_path(p): content_digest([d], None, None) for p, d in rule_data.items()}
    if kinds[0] is not None:
        out[display_path(kinds[0])] = content_digest([], kinds[1], None)
    if calendars[0] is not None:
        out[display_path(calendars[0])] = content_digest([], None, calendars[1])
    return out


def files_stamp(roots: Sequence[Path], folders: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """Every YAML under ``roots`` and the ``kinds.yaml``/``calendars.yaml`` of ``folders``, each as (path,
    size, mtime in ns; -1 when missing): a resident evaluator compares it every batch and loads the
    rulebook again only when it changed (a changed stamp may still load the same version: comments)."""
    candidates = [*yaml_files(roots), *(f / name for f in folders for name in ("kinds.yaml", "calendars.yaml"))]
    out: list[tuple[str, int, int]] = []
    for path in dict.fromkeys(candidates):
        try:
            st = path.stat()
            out.append((str(path), st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(path), -1, -1))
    return tuple(out)


def not_rules(data: Any, named: bool) -> Message | None:
    """Why a file without a top-level ``ruleset`` is a mistake, or ``None`` for a data file left alone: a
    folder may hold other YAML, but rules written without their ``ruleset``, or a file named as rules that
    holds none, would otherwise never run and say nothing."""
    if isinstance(data, dict) and "rules" in data:
        return Message(N_("规则文件需要顶层的 'ruleset'"))
    if isinstance(data, list) and data and all(isinstance(x, dict) and "id" in x for x in data):
        return Message(N_("这里是一列规则，但规则文件须写成 ruleset: 名称，规则列在 rules: 之下"))
    if named:
        return Message(N_("不是规则文件：须有顶层的 ruleset: 与 rules:"))
    return None
