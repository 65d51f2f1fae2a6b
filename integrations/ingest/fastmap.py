"""One source's mapping compiled once: items straight to prepared store rows, the common case fast.

:func:`~integrations.sources.mapping.map_item` is the reference: it builds a pydantic ``Record`` per item
and says exactly why an item is refused. :class:`CompiledMapping` resolves the source's configuration
once and takes each item through cheap exact-type tests to a :class:`~integrations.store.prepared.PreparedRecord`
(canonical attribute text and content hash included). An item that fails any test — and every
invalid item does — goes through ``map_item`` instead, so what is stored and every quarantine
reason are those of the reference (``tests/integrations/test_fastmap.py`` checks both agree on
generated items, valid and not).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.kinds import RecordKinds
from domain.records import Record
from domain.regions import RegionCodeError, validate_code
from integrations.ingest import speedups
from integrations.ingest.fastmap_fields import field_filler
from integrations.ingest.twins import canonical_and_hash, pseudonymiser, text_check, times_of
from integrations.sources.mapping import (
    CLOCK_SKEW,
    EARLIEST_YEAR,
    Rejection,
    SourceConfig,
    _ItemError,
    _plan,
    _region,
    map_item,
)
from integrations.store.prepared import PreparedRecord, prepare

_new = tuple.__new__
_CACHE_MAX = 1 << 16
"""Entries kept per cache (pseudonyms, masked texts, region codes) before it starts afresh."""
_AS_IS = {"string": str, "int": int, "number": float}
"""Field type → the exact Python type whose values its coercion returns unchanged."""


def _leave_to_python(*_: Any) -> None:
    """Stands in for a C function of :mod:`integrations.ingest.speedups` where it is not built."""
    return None


def _guarded(fast: Callable[[Any, datetime, float | None], PreparedRecord | None], raw: Any, limit: datetime,
             limit_ts: float | None) -> PreparedRecord | None:
    """``fast(raw, limit, limit_ts)``, or ``None`` (ask the reference) where a field nests past the stack."""
    try:
        return fast(raw, limit, limit_ts)
    except RecursionError:
        return None


def _timestamp_only(at: datetime) -> tuple[float, str]:
    """``(at.timestamp(), "")``: :func:`~integrations.ingest.twins.times_of` for a store that needs no UTC text."""
    return at.timestamp(), ""


class CompiledMapping:
    """The mapping of one source against the record kinds, a key and the known regions (see the module)."""

    def __init__(
        self,
        config: SourceConfig,
        kinds: RecordKinds,
        key: str | bytes,
        *,
        known_regions: Container[str] | None = None,
        utc_text: bool = True,
    ) -> None:
        """``utc_text``: write each record's UTC time text while mapping (a SQLite store needs it)."""
        self.config, self.kinds, self.known_regions = config, kinds, known_regions
        self._utc_text = utc_text
        self.key = key.encode("utf-8") if isinstance(key, str) else key
        # An unknown kind refuses every item: leave all of them to the reference and its reason.
        self._usable = config.kind in kinds.kinds
        self._zone = ZoneInfo(config.timezone) if config.timezone else None
        self._pseudonyms: dict[str, Any] = {}
        self._masked: dict[str, Any] = {}
        self._codes: set[str] = set()
        self._fast = self._compile() if self._usable else None

    def reference(self, raw: Any, now: datetime) -> PreparedRecord | Rejection:
        """What :func:`map_item` makes of ``raw``, prepared for the store when it is a record."""
        out = map_item(raw, self.config, self.kinds, self.key, now=now, known_regions=self.known_regions)
        return prepare(out) if isinstance(out, Record) else out

    def map_one(self, raw: Any, now: datetime) -> PreparedRecord | Rejection:
        """``raw`` as a prepared record, or the :class:`Rejection` saying why not; never raises."""
        fast = _guarded(self._fast, raw, *self._limit(now)) if self._fast is not None else None
        return fast if fast is not None else self.reference(raw, now)

    def _limit(self, now: datetime) -> tuple[datetime, float | None]:
        """The latest acceptable time, and its timestamp when comparing timestamps decides the same.

        Aware datetimes compare as instants, except two with the very same tzinfo, which compare as wall
        times: that differs (in a DST fold) only when ``now`` carries the source's own zone object.
        """
        limit = now + CLOCK_SKEW
        same_zone = self._zone is not None and limit.tzinfo is self._zone
        return limit, None if same_zone or limit.tzinfo is None else limit.timestamp()

    def map_page(self, items: Iterable[Any], now: datetime) -> tuple[list[PreparedRecord], list[Rejection]]:
        """The page's records and its rejections, in item order."""
        records: list[PreparedRecord] = []
        rejections: list[Rejection] = []
        limit, limit_ts = self._limit(now)
        fast = self._fast
        for raw in items:
            try:
                out = fast(raw, limit, limit_ts) if fast is not None else None
            except RecursionError:  # a field nested past the stack: the reference says too_deep
                out = None
            if out is not None:
                records.append(out)
                continue
            ref = self.reference(raw, now)
            if isinstance(ref, Rejection):
                rejections.append(ref)
            else:
                records.append(ref)
        return records, rejections

    def _compile(self) -> Callable[[Any, datetime, float | None], PreparedRecord | None]:
        """The per-item function: the configuration bound as closure variables, the field loop flattened."""
        config, key, known = self.config, self.key, self.known_regions
        id_field, at_field, at_format, zone = config.id_field, config.at_field, config.at_format, self._zone
        region_field, lookup = config.region_field, config.region_lookup
        needed = (at_field, *(config.region_fields or (config.region_field,)))
        kind, name = config.kind, config.name
        fields = tuple(
            (
                src,
                dst,
                vmap,
                spec,
                _AS_IS.get(spec.type) if spec else None,
                spec.values if spec else None,
                personal,
                free,
            )
            for src, dst, vmap, spec, personal, free in _plan(config, self.kinds).fields
        )
        fill = field_filler(
            fields,
            tuple(config.constants.items()),
            config.required,
            key=key,
            pseudonym_of=pseudonymiser(key),
            # People recur, but a C pseudonym (integrations.ingest.speedups) costs less than a cache miss in Python.
            pseudonyms=self._pseudonyms if speedups.Pseudonymiser is None else None,
            masked=self._masked,
            cache_max=_CACHE_MAX,
        )
        codes = self._codes
        with_text = self._utc_text
        fromisoformat, strptime = datetime.fromisoformat, datetime.strptime
        # The C twins (integrations.ingest.speedups) answer None for what they leave to Python, as when not built.
        c_times = speedups.times_of or _leave_to_python
        # Where C declines (a zone with rules), the UTC text only where the store needs it (SQLite).
        py_times = times_of if with_text else _timestamp_only
        c_canonical_and_hash = speedups.canonical_and_hash or _leave_to_python
        text_refused = text_check()

        def fast(raw: Any, limit: datetime, limit_ts: float | None) -> PreparedRecord | None:
            # Every test mirrors one of map_item's; failing one means "ask the reference", never "refuse".
            if type(raw) is not dict:
                return None
            sid = raw.get(id_field)
            if type(sid) is str and sid and len(sid) <= 200 and not text_refused(sid):
                source_id = sid
            elif type(sid) is int:
                source_id = str(sid)
            else:
                return None
            for field_name in needed:
                if field_name not in raw:
                    return None
            value = raw[at_field]
            if type(value) is not str:
                return None
            try:
                at = strptime(value.strip(), at_format) if at_format else fromisoformat(value)
            except ValueError:
                return None
            if at.tzinfo is None:
                if zone is None:
                    return None
                at = at.replace(tzinfo=zone)
            if at.year < EARLIEST_YEAR:
                return None
            # at.timestamp() is exact to the microsecond (below 2**53 µs): it orders as the instants do.
            ts, at_utc = c_times(at) or py_times(at)
            if (at > limit) if limit_ts is None else (ts > limit_ts):
                return None
            if lookup is None:
                region = raw[region_field]
                if type(region) is not str:
                    return None
            else:
                try:
                    region = _region(raw, config)
                except (_ItemError, RegionCodeError):
                    return None
            if region not in codes:  # the check Record's validator makes, once per distinct code
                try:
                    validate_code(region)
                except RegionCodeError:
                    return None
                if len(codes) >= _CACHE_MAX:
                    codes.clear()
                codes.add(region)
            if known is not None and region not in known:
                return None
            attrs = fill(raw)
            if attrs is None:
                return None
            text_and_hash = c_canonical_and_hash(kind, ts, region, attrs)
            attrs_json, h = text_and_hash or canonical_and_hash(kind, ts, region, attrs)
            # tuple.__new__ skips the NamedTuple's Python-level constructor.
            # The UTC text the SQLite insert needs is written here, off the writer's path (see ahead.py).
            return _new(
                PreparedRecord,
                (name, source_id, kind, at, region, attrs, attrs_json, h, False, at_utc if with_text else ""),
            )

        return fast


__all__ = ["CompiledMapping"]
