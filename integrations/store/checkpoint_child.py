"""The resident evaluator's state encoded beside it, not in its way (issue 17, speed).

Against a month of a city's history the state is tens of MB: walking and encoding it took seconds, and
every record pushed meanwhile waited. Here, once the pass to checkpoint has committed, the evaluator forks:
the child holds a copy-on-write image of the state exactly as that pass left it, encodes it, sends the
bytes back through a pipe and exits, while the parent goes on evaluating. A thread of the parent reads the
pipe (the read waits without the GIL); at a later pass the parent stores the bytes with the position and
journal id of the moment it forked (:func:`integrations.store.checkpoint.store_checkpoint`).

Why this stays correct: the state is that of a committed pass, so a checkpoint is never ahead of the
store; the journal rows after its id stay, so a restart replays exactly what came after it; the parent,
which holds the lease, does all the writing (the child touches no database connection: a SQLite connection
must not cross a fork); a child that fails loses nothing (the previous checkpoint and the journal still
hold everything), and the checkpoint is due again.

Where ``fork`` does not exist the caller writes the checkpoint in its pass, as a one-off run does.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

from sqlmodel import Session

from integrations.store.checkpoint import CheckpointWritten
from integrations.store.grouped_state import AllGroups, slowest_position, store_grouped_checkpoint
from integrations.store.release import Position
from rules.engine.state_codec import encode_state

__all__ = ["CAN_FORK", "Encoded", "GroupsChild", "StateChild"]

CAN_FORK = hasattr(os, "fork")
"""Whether this platform can encode the state beside the evaluator."""

T = TypeVar("T")


@dataclass(frozen=True)
class Encoded(Generic[T]):
    """A child that ended: the bytes it sent (None: it failed), what the caller noted at the fork, and the
    seconds from the fork to the last byte read (the encoding, beside the evaluator)."""

    data: bytes | None
    note: T
    seconds: float = 0.0


class StateChild(Generic[T]):
    """At most one child encoding a state at a time (see the module)."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._reader: threading.Thread | None = None
        self._chunks: list[bytes] = []
        self._note: T | None = None
        self._span = (0.0, 0.0)  # monotonic: the fork, the end of the pipe

    @property
    def running(self) -> bool:
        """Whether a child was started and its outcome not yet taken."""
        return self._pid is not None

    def start(self, encode: Callable[[], bytes], note: T) -> None:
        """Fork a child that sends back ``encode()`` and exits; ``note`` comes back with its bytes."""
        if self._pid is not None:
            raise RuntimeError("a state is already being encoded")
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover  # the child: the tests check the bytes it sends
            code = 1
            try:
                os.close(read_fd)
                gc.disable()  # a collection would touch, and so copy, every page of the parent's heap
                view = memoryview(encode())
                while view:
                    view = view[os.write(write_fd, view):]
                code = 0
            finally:
                os._exit(code)  # nothing of the parent's (atexit handlers, connections, threads) runs here
        os.close(write_fd)
        self._pid, self._note, self._chunks = pid, note, []
        self._span = (time.monotonic(), 0.0)
        self._reader = threading.Thread(target=self._read, args=(read_fd,), name="checkpoint-pipe", daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            while chunk := pipe.read(1 << 20):
                self._chunks.append(chunk)
        self._span = (self._span[0], time.monotonic())

    def take(self, *, block: bool = False) -> Encoded[T] | None:
        """The child's outcome once it has ended (``block``: wait for it); None while it runs, or if none
        was started."""
        if self._pid is None or self._reader is None:
            return None
        self._reader.join(None if block else 0)
        if self._reader.is_alive():
            return None
        _, status = os.waitpid(self._pid, 0)  # the pipe is closed: the child has exited or is exiting
        ok = os.waitstatus_to_exitcode(status) == 0
        note, data = self._note, b"".join(self._chunks)
        self._pid, self._reader, self._note, self._chunks = None, None, None, []
        assert note is not None  # nosec B101  # set with the pid
        return Encoded(data if ok else None, note, max(0.0, self._span[1] - self._span[0]))


@dataclass(frozen=True)
class _AtFork:
    """What a state encoded in a child is stored with: the moment it forked."""

    position: Position
    journal_id: int
    now: datetime
    lanes: list[str]


class GroupsChild:
    """The grouped evaluator's checkpoints through a :class:`StateChild` (see the module)."""

    def __init__(self) -> None:
        self._child: StateChild[_AtFork] = StateChild()

    @property
    def running(self) -> bool:
        """Whether a child was started and its outcome not yet stored."""
        return self._child.running

    def start(self, groups: AllGroups, journal_id: int, now: datetime) -> bool:
        """Fork a child encoding ``groups`` as the last committed pass left them (``journal_id`` its last
        journal row); False while another still runs."""
        if self._child.running:
            return False
        at = _AtFork(slowest_position(groups), journal_id, now, list(groups.lanes))
        self._child.start(lambda: encode_state(groups.snapshot()), at)
        return True

    def discard(self) -> None:
        """Wait for a child still running and drop what it sends (a stop that stores nothing more)."""
        self._child.take(block=True)

    def store(self, session: Session, *, version: str, who: str,
              block: bool = False) -> CheckpointWritten | Literal[False] | None:
        """Once the child has ended, store its checkpoint in the caller's transaction and say what was
        written (its seconds: the child's encoding and this store, not the passes between them); False: the
        child failed (the checkpoint is due again); None: nothing ended yet."""
        done = self._child.take(block=block)
        if done is None:
            return None
        at = done.note
        if done.data is None:
            return False
        start = time.perf_counter()
        store_grouped_checkpoint(session, done.data, version=version, position=at.position, lanes=at.lanes,
                                 journal_id=at.journal_id, now=at.now, who=who)
        return CheckpointWritten(len(done.data), done.seconds + time.perf_counter() - start, at.journal_id)
