"""The escalation policy every routing context uses, loaded once: escalation.yaml (tiers, deadlines,
digest window, declared inhibitions) with the default inhibitions of the rulebook's chained cluster rules
merged under the declared ones (``rules.language.inhibitions``).

Every caller that routes — the pipeline, the resident evaluator, the SLA watch, ``deliver --once``, the
CLI's hand-over and resolve, the web workspace and its one-click links — gets its policy here, so a street
warning is held under an open district cluster whichever process routes it (before, only the evaluator
merged the defaults). The result is cached and read again only when a policy file changes: the
escalation file's or any rule file's modification time or size (a rule edit can add or drop a cluster).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from domain.escalation import EscalationPolicy
from integrations.i18n import _
from integrations.settings import Settings, get_settings
from rules.language.files import yaml_files
from rules.language.inhibitions import default_inhibitions
from rules.language.loader import load_rulebook
from rules.language.model import Rule

log = logging.getLogger(__name__)

Stamp = tuple[tuple[str, int, int], ...]
"""(path, mtime in ns, size) of each policy file; a missing file stamps (path, -1, -1)."""

_lock = threading.Lock()
_cache: dict[tuple[str, ...], tuple[Stamp, EscalationPolicy]] = {}


def _stamp(paths: Sequence[Path]) -> Stamp:
    out = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            out.append((str(path), -1, -1))
        else:
            out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


def policy_files(settings: Settings) -> list[Path]:
    """The files the policy is read from: escalation.yaml and every rule file of the rulebook."""
    return [settings.escalation, *yaml_files([settings.rulebook])]


def _cached(key: tuple[str, ...], files: Sequence[Path], build: Callable[[], EscalationPolicy]) -> EscalationPolicy:
    """``build()``, or what it returned last for ``key`` if none of ``files`` changed since."""
    stamp = _stamp(files)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    policy = build()  # outside the lock: two first callers may both build; the same result either way
    with _lock:
        _cache[key] = (stamp, policy)
    return policy


def _declared(settings: Settings) -> EscalationPolicy:
    return _cached(("declared", str(settings.escalation)), [settings.escalation],
                   lambda: EscalationPolicy.load(settings.escalation))


def _build(settings: Settings) -> EscalationPolicy:
    declared = _declared(settings)
    book = load_rulebook(settings.rulebook)
    if book.errors:
        # The rules that loaded still give their defaults; the broken file is the rule checker's to report.
        log.warning(_("规则库 {path} 有 {n} 个错误；默认抑制取自已加载的规则").format(path=settings.rulebook,
                                                                          n=len(book.errors)))
    return declared.with_default_inhibitions(default_inhibitions(book.rules))


def load_policy(settings: Settings | None = None, rules: Sequence[Rule] | None = None) -> EscalationPolicy:
    """The escalation policy of ``settings`` (default: the current settings) with the default inhibitions
    of its rulebook's cluster rules, cached until a policy file (:func:`policy_files`) changes. With
    ``rules`` (a rulebook the caller already loaded, e.g. the evaluator's), their defaults are merged
    instead of the rulebook's on disk."""
    settings = settings or get_settings()
    if rules is not None:
        return _declared(settings).with_default_inhibitions(default_inhibitions(rules))
    return _cached(("merged", str(settings.escalation), str(settings.rulebook)), policy_files(settings),
                   lambda: _build(settings))


def clear_policy_cache() -> None:
    """Forget every cached policy (tests that rewrite a file within the file system's time resolution)."""
    with _lock:
        _cache.clear()
