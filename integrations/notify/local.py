"""Local channels: a JSON-lines file per recipient (the demo's channel), the console, and a fake for tests."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TextIO

from domain.messages import N_, Message
from integrations.notify.base import Notification, PermanentDeliveryError, TransientDeliveryError
from integrations.settings import get_settings

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class FileChannel:
    """Appends each notification as one JSON line to ``<outbox_dir>/<recipient>.jsonl``."""

    def __init__(self, directory: Path | None = None, *, name: str = "file") -> None:
        self.directory = directory if directory is not None else get_settings().resolved_outbox_dir
        self._name = name

    @property
    def name(self) -> str:
        """Channel name (``file``)."""
        return self._name

    def path_for(self, recipient: str) -> Path:
        """The file a recipient's notifications go to (the id made safe as a file name)."""
        return self.directory / f"{_UNSAFE.sub('_', recipient) or '_'}.jsonl"

    def send(self, message: Notification) -> None:
        """Append ``message``; a disk error is retryable."""
        line = json.dumps(message.model_dump(mode="json"), ensure_ascii=False)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # One write of one line in append mode: a crash leaves at most a torn last line.
            with self.path_for(message.recipient).open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise TransientDeliveryError(Message(N_("无法写入 {directory}：{reason}"), directory=self.directory,
                                                 reason=str(exc))) from exc


class ConsoleChannel:
    """Prints each notification (subject, then body) to a stream, stdout by default."""

    def __init__(self, stream: TextIO | None = None, *, name: str = "console") -> None:
        self.stream = stream
        self._name = name

    @property
    def name(self) -> str:
        """Channel name (``console``)."""
        return self._name

    def send(self, message: Notification) -> None:
        """Print ``message`` with its recipient and idempotency key."""
        out = self.stream or sys.stdout
        out.write(f"→ {message.recipient} [{message.idempotency_key}]\n{message.subject}\n{message.body}\n\n")


class FakeChannel:
    """A channel for tests: records what it was asked to send; can fail the first ``fail_first`` sends."""

    def __init__(self, name: str = "file", *, fail_first: int = 0, retryable: bool = True) -> None:
        self._name = name
        self.fail_first = fail_first
        self.retryable = retryable
        self.attempts: list[Notification] = []
        self.sent: list[Notification] = []

    @property
    def name(self) -> str:
        """Channel name (whatever the test chose)."""
        return self._name

    def send(self, message: Notification) -> None:
        """Fail while ``fail_first`` attempts remain, then record ``message`` as sent."""
        self.attempts.append(message)
        if len(self.attempts) <= self.fail_first:
            error = TransientDeliveryError if self.retryable else PermanentDeliveryError
            raise error(f"fake failure {len(self.attempts)} of {self.fail_first}")
        self.sent.append(message)
