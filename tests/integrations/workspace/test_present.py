"""What the workspace shows of who acted (integrations.workspace.present)."""

from __future__ import annotations

from integrations.workspace.present import _who
from tests.integrations.workspace.conftest import directory


def test_the_timeline_names_an_operator_who_acted_from_the_command_line() -> None:
    people = directory()
    assert _who("operator root as jgq-officer", people).endswith("（操作员 root 在命令行代办）")
    assert _who("operator root as jgq-officer", people).startswith(people.responder("jgq-officer").name)  # type: ignore[union-attr]
