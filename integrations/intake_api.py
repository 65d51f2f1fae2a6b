"""Push intake: ``POST /v1/intake/{source}`` — a department delivers its items instead of waiting to be pulled.

The body is a JSON array of items, JSON lines, or ``{"items": [...], "complete_up_to": "..."}``; items
are shaped like the source's own (``?shape=record`` for the record shape ``records export`` writes).
They go through :func:`integrations.records_io.import_items`, the path ``fenghuo records import`` takes:
mapped, validated, pseudonymised, a bad item quarantined with its reason while the good ones are stored,
idempotent by (source, id), the source's watermark moved — all in one transaction. ``complete_up_to``
(in the body or the query) is the department's heartbeat: everything up to it has been sent.

Answers: 202 ``{"accepted", "duplicates", "quarantined", "complete_up_to"}``; 400 a body that is not
JSON (``bad_json``, ``not_utf8``) or is nested past what can be parsed (``too_deep``); 401 no bearer
token; 403 a token not this source's (or a source that does not push); 404 an unknown source;
413 a body over ``intake_max_bytes``; 422 a refused heartbeat; 429 with ``Retry-After`` while
``intake_max_in_flight`` pushes are being stored; 503 when the source's token is not configured.
Every refusal says, in Chinese first, what to do next. Tokens are kept only as SHA-256 digests and
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from domain.json_errors import json_reason
from integrations.i18n import N_, _, explain, translate
from integrations.settings import Settings

__all__ = ["intake_router"]


class _Refused(Exception):
    """A push refused with an HTTP status and a message (Chinese, then English)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


@dataclass(frozen=True)
class _Setup:
    """What the intake needs of the configuration, loaded once on the first push."""

    sources: Any  # integrations.sources.config.SourcesFile
    kinds: Any  # domain.kinds.RecordKinds
    digests: dict[str, bytes]  # source name -> SHA-256 of its push token
    known_regions: frozenset[str] | None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _load(settings: Settings) -> _Setup:
    from domain.regions import RegionDirectory
    from integrations.ingest.run import load_kinds
    from integrations.sources.factory import configured_sources

    sources = configured_sources(settings)
    digests = {spec.name: _digest(settings.source_secrets[spec.push_token].get_secret_value())
               for spec in sources.specs
               if spec.push_token is not None and spec.push_token in settings.source_secrets}
    names = RegionDirectory.load(settings.regions).names if settings.reject_unknown_regions else {}
    return _Setup(sources, load_kinds(settings.rulebook), digests, frozenset(names) or None)


def _authorise(setup: _Setup, source: str, header: str | None) -> Any:
    """The source's spec, if ``header`` carries its push token; else :class:`_Refused`."""
    if source not in setup.sources.names:
        raise _Refused(404, "unknown_source", _("未知来源 {source}，请核对推送地址").format(source=repr(source)))
    spec = setup.sources.get(source)
    if spec.push_token is None:
        raise _Refused(403, "push_not_enabled",
                       _("来源 {source} 未开放推送；请在 sources.yaml 为其配置 push_token").format(source=source))
    scheme, _space, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Refused(401, "no_token", _("缺少推送令牌：请在 Authorization 头中携带 Bearer 令牌"),
                       {"WWW-Authenticate": "Bearer"})
    digest = setup.digests.get(source)
    if digest is None:
        raise _Refused(503, "token_not_configured",
                       _(
                               "来源 {source} 的推送令牌尚未在服务端配置（FENGHUO_SOURCE_SECRETS 中的"
                               " {token}），请联系管理员").format(
                           source=source, token=repr(spec.push_token)))
    if not hmac.compare_digest(_digest(token.strip()), digest):
        raise _Refused(403, "bad_token", _("推送令牌与来源 {source} 不符，请核对令牌").format(source=source))
    return spec


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    too_big = _Refused(413, "too_large", _("请求体超过上限 {limit} 字节，请分批推送").format(limit=limit))
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


_TOO_DEEP = N_("请求体嵌套过深（数组或对象层层套叠，超出可解析的层数），不是部门的记录；本次未入库任何记录，"
               "请核对对方系统的导出")


def _parse(body: bytes) -> tuple[list[Any], str | None]:
    """The items and the body's ``complete_up_to``, from a JSON array, JSON lines or an envelope.

    A body nested past what ``json`` parses is refused whole (400 ``too_deep``) when it is one document; in
    JSON lines only the line that is too deep is, handed on as text for the mapping to quarantine
    (``too_deep``) while the other lines are stored."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Refused(400, "not_utf8", _("请求体须为 UTF-8 编码的 JSON")) from None
    if not text.strip():
        return [], None
    deep = False
    try:
        whole = json.loads(text)
    except RecursionError:
        whole, deep = None, True
    except ValueError:
        whole = None
    else:
        return _shaped(whole)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if deep and len(lines) == 1:
        raise _Refused(400, "too_deep", _(_TOO_DEEP))
    items: list[Any] = []
    for n, line in lines:
        try:
            items.append(json.loads(line))
        except RecursionError:
            items.append(line)  # the mapping parses it again and quarantines it as too_deep
        except json.JSONDecodeError as exc:
            if deep:  # a document over several lines, too deep as a whole: its lines are not JSON lines
                raise _Refused(400, "too_deep", _(_TOO_DEEP)) from None
            raise _Refused(400, "bad_json", _(
                    "第 {n} 行不是合法的 JSON：{reason}；本次未入库任何记录，请修正后重发").format(
                n=n, reason=translate(json_reason(exc)))) from None
    return items, None


def _shaped(whole: Any) -> tuple[list[Any], str | None]:
    """The items and heartbeat of a body that parsed as one JSON document."""
    if isinstance(whole, list):
        return whole, None
    if isinstance(whole, dict) and isinstance(whole.get("items"), list):
        upto = whole.get("complete_up_to")
        return whole["items"], upto if isinstance(upto, str) else None
    if isinstance(whole, dict) and set(whole) == {"complete_up_to"}:
        return [], str(whole["complete_up_to"])
    return [whole], None


def _heartbeat(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        shown = text if len(text) <= 60 else text[:57] + "..."  # echo what was sent, not a megabyte of it
        raise _Refused(422, "bad_heartbeat", _(
                "complete_up_to {shown} 须为带时区的 ISO 8601 时间，如 2026-12-05T08:00:00+08:00")
                       .format(shown=repr(shown)))
    return at


def intake_router(engine: sa.Engine, settings: Settings, *, clock: Callable[[], datetime]) -> APIRouter:
    """``POST /v1/intake/{source}`` over ``engine`` (see the module)."""
    router = APIRouter()
    loaded: list[_Setup] = []
    in_flight = [0]  # one event loop: a plain counter is exact

    def setup() -> _Setup:
        if not loaded:
            loaded.append(_load(settings))
        return loaded[0]

    @router.post("/v1/intake/{source}")
    async def intake(source: str, request: Request) -> JSONResponse:
        from domain.watermarks import HeartbeatError
        from integrations.records_io import import_items

        try:
            spec = _authorise(setup(), source, request.headers.get("authorization"))
            if in_flight[0] >= settings.intake_max_in_flight:
                raise _Refused(429, "busy", _("推送过于频繁，服务端正在处理先前的数据，请稍后重试"),
                               {"Retry-After": "1"})
            in_flight[0] += 1
            try:
                items, upto = _parse(await _body(request, settings.intake_max_bytes))
                heartbeat = _heartbeat(request.query_params.get("complete_up_to") or upto)
                if not items and heartbeat is None:
                    raise _Refused(400, "empty", _("请求体中没有记录；若只报告完整时间，请带 complete_up_to"))
                try:
                    report = await run_in_threadpool(
                        import_items, engine, spec.config, items, kinds=setup().kinds,
                        key=settings.pseudonym_key.get_secret_value(), now=clock(), complete_up_to=heartbeat,
                        mapped=request.query_params.get("shape", "source") != "record",
                        known_regions=setup().known_regions)
                except HeartbeatError as exc:
                    raise _Refused(422, "bad_heartbeat", _(
                            "{reason}（心跳被拒，未存储任何数据）").format(reason=explain(exc))) from None
            finally:
                in_flight[0] -= 1
        except _Refused as refused:
            return JSONResponse({"error": refused.code, "message": refused.message}, refused.status,
                                headers=refused.headers)
        return JSONResponse({"accepted": report.accepted, "duplicates": report.duplicates,
                             "quarantined": report.quarantined,
                             "complete_up_to": heartbeat.isoformat() if heartbeat else None}, 202)

    return router
