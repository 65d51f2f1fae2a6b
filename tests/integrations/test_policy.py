"""The policy loaded once (``integrations.policy.load_policy``): escalation.yaml with the default
inhibitions of the rulebook's cluster rules, cached until a policy file changes, and the one every routing
context uses."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from domain.escalation import EscalationPolicy
from flows.context import RoutingContext
from integrations.policy import load_policy, policy_files
from integrations.resolution import routing_for
from integrations.settings import PACKAGE_ROOT, get_settings
from integrations.tasks import TaskContext
from rules.language.inhibitions import default_inhibitions
from rules.language.loader import load_rulebook

SHIPPED_ESCALATION = PACKAGE_ROOT / "integrations" / "data" / "escalation.yaml"
CATALOG = PACKAGE_ROOT / "rules" / "catalog"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A copy of the shipped escalation file and rule catalogue the settings point at."""
    escalation, rulebook = tmp_path / "escalation.yaml", tmp_path / "catalog"
    shutil.copy(SHIPPED_ESCALATION, escalation)
    shutil.copytree(CATALOG, rulebook)
    monkeypatch.setenv("FENGHUO_ESCALATION", str(escalation))
    monkeypatch.setenv("FENGHUO_RULEBOOK", str(rulebook))
    get_settings.cache_clear()
    return escalation, rulebook


def _bump(path: Path) -> None:
    """Move the file's modification time on (a rewrite within the clock's resolution still counts)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_the_policy_has_the_declared_and_the_cluster_rules_default_inhibitions() -> None:
    expected = EscalationPolicy.load(SHIPPED_ESCALATION).with_default_inhibitions(
        default_inhibitions(load_rulebook(CATALOG).rules))
    got = load_policy()
    assert got == expected
    sources = {i.source for i in got.inhibitions}
    assert {"street-cluster", "district-cluster"} <= sources


def test_it_is_read_once_and_again_only_when_a_policy_file_changes(files: tuple[Path, Path]) -> None:
    escalation, rulebook = files
    first = load_policy()
    assert load_policy() is first, "unchanged files: the cached policy"
    assert set(policy_files(get_settings())) >= {escalation, rulebook / "clusters.yaml"}

    (rulebook / "clusters.yaml").unlink()  # no cluster rule: no default inhibition
    without = load_policy()
    assert without is not first
    assert not {i.source for i in without.inhibitions} & {"street-cluster", "district-cluster"}

    shutil.copy(CATALOG / "clusters.yaml", rulebook / "clusters.yaml")
    assert {i.source for i in load_policy().inhibitions} >= {"street-cluster", "district-cluster"}

    before = load_policy()
    text = escalation.read_text(encoding="utf-8").replace("digest_window: 10m", "digest_window: 45m")
    assert text != escalation.read_text(encoding="utf-8"), "the shipped file names a 10m digest window"
    escalation.write_text(text, encoding="utf-8")
    _bump(escalation)
    after = load_policy()
    assert after is not before and after.digest_window.total_seconds() == 45 * 60


def test_a_rulebook_the_caller_holds_gives_its_defaults_instead(files: tuple[Path, Path]) -> None:
    rules = [r for r in load_rulebook(CATALOG).rules if r.id != "district-cluster"]
    sources = {i.source for i in load_policy(rules=rules).inhibitions}
    assert "street-cluster" in sources and "district-cluster" not in sources


def test_every_routing_context_uses_it(files: tuple[Path, Path]) -> None:
    """The pipeline's, the SLA watch's and ``deliver --once``'s context (RoutingContext without rules), the
    workspace's and the tasks' (TaskContext), and a one-click link's (routing_for): the same policy, with the
    defaults — before, only the evaluator merged them."""
    settings = get_settings()
    policy = load_policy()
    context = RoutingContext.load(settings)
    assert context.policy == policy and any(i.source == "district-cluster" for i in context.policy.inhibitions)
    assert TaskContext.for_workspace(settings, context.directory, context.regions).policy == policy
    assert routing_for(settings, context.directory, context.regions).policy == policy
