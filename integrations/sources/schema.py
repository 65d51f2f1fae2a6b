"""The shape of ``sources.yaml`` (pydantic, ``extra="forbid"``): one entry per departmental source.

Read by :mod:`integrations.sources.config`, which turns each entry into a runtime
:class:`~integrations.sources.config.SourceSpec`. Secrets are never in the file: ``auth.secret`` names an
entry of ``settings.source_secrets`` (``FENGHUO_SOURCE_SECRETS``) and ``auth.secret_block`` a Prefect
Secret block.
"""

from __future__ import annotations

import codecs
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.messages import N_, Message
from domain.regions import validate_code
from domain.watermarks import SourceTiming, parse_span


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthModel(_Model):
    """How to authenticate: ``none``, an API key header, a bearer token, or OAuth2 client credentials."""

    type: Literal["none", "api_key", "bearer", "oauth2"] = "none"
    header: str = "X-API-Key"
    """Header carrying the API key (``api_key``)."""
    secret: str | None = None
    """Name of the secret in ``settings.source_secrets`` (key, token, or OAuth2 client secret)."""
    secret_block: str | None = None
    """Name of a Prefect Secret block holding it instead (loaded only when the source is used)."""
    token_url: str | None = None
    client_id: str | None = None
    scope: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> AuthModel:
        if self.type == "none":
            return self
        if (self.secret is None) == (self.secret_block is None):
            raise ValueError(Message(N_("认证类型 {type} 须有且只有 'secret' 或 'secret_block' 之一"), type=self.type))
        if self.type == "oauth2" and not (self.token_url and self.client_id):
            raise ValueError(Message(N_("认证类型 oauth2 须有 'token_url' 和 'client_id'")))
        return self


class PaginationModel(_Model):
    """How pages follow each other; the stored cursor is the token, the item offset, or the next URL."""

    style: Literal["cursor", "page", "offset", "link", "since"] = "cursor"
    items_field: str = "items"
    """Field of the response body holding the items (``""``: the body is the list)."""
    cursor_param: str = "cursor"
    next_field: str = "next_cursor"
    """``cursor`` style: the response field with the next cursor token (the incremental cursor)."""
    has_more_field: str = "has_more"
    page_param: str = "page"
    first_page: int = 1
    offset_param: str = "offset"
    limit_param: str = "limit"
    since_param: str = "since"
    cursor_field: str = "updated_at"
    """``since`` style: the item field whose largest value on a page is the next ``?since=`` (the
    incremental cursor field; ISO 8601 times or numbers). The department must include equal values
    (``>=``): items on the boundary come again, which the upsert makes harmless."""


class TimeModel(_Model):
    """Where the event time is and how to read it."""

    field: str = "occurred_at"
    format: str | None = None
    """``strptime`` format (e.g. ``%m/%d/%Y %I:%M:%S %p``); unset: ISO 8601."""
    timezone: str | None = None
    """IANA zone of times sent without an offset (e.g. ``Asia/Shanghai``); unset: they are refused."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(Message(N_("未知的时区 {zone}（请用 IANA 名称，例如 Asia/Shanghai）"),
                                         zone=repr(v))) from None
        return v


class RegionModel(_Model):
    """How to derive the region code: a field holding it, or a lookup of one or more fields."""

    field: str = "region_code"
    fields: list[str] | None = None
    """Fields joined by ``|`` to form the lookup key (default: ``field``)."""
    lookup: dict[str, str] | None = None
    lookup_file: str | None = None
    """YAML file (relative to sources.yaml) with a ``lookup:`` mapping, for large tables."""

    @field_validator("lookup")
    @classmethod
    def _codes(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for code in (v or {}).values():
            validate_code(code)
        return v


class FileDropModel(_Model):
    """A folder the department drops export files into; every file not yet taken is read, new ones in
    name order."""

    folder: str
    format: Literal["csv", "jsonl"] = "csv"
    pattern: str = "*"
    encoding: str = "auto"
    """``auto`` (UTF-8 with or without BOM, else detected: GB18030/GBK, UTF-16, Big5) or a codec name."""
    delimiter: str = ","

    @field_validator("encoding")
    @classmethod
    def _codec(cls, v: str) -> str:
        if v != "auto":
            try:
                codecs.lookup(v)
            except LookupError:
                raise ValueError(Message(N_("未知的编码 {encoding}；请用 auto、utf-8、gb18030、gbk …"),
                                         encoding=repr(v))) from None
        return v


class RegisterModel(_Model):
    """The register (台账) of people to care for as a source: the visits falling due, read from the store."""

    first_run: str = "1d"
    """How far back the first run starts (later runs continue from the cursor: each due day once)."""

    @field_validator("first_run")
    @classmethod
    def _span(cls, v: str) -> str:
        parse_span(v)
        return v


class SourceModel(_Model):
    """One departmental source."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    kind: str
    description: str = ""
    path: str | None = None
    """REST endpoint path (relative to ``base_url``); exclusive with ``filedrop``."""
    base_url: str | None = None
    filedrop: FileDropModel | None = None
    # Aliased: a pydantic model already has an attribute called register (abc's).
    care_register: RegisterModel | None = Field(default=None, alias="register")
    """The register of people to care for (no ``path``/``filedrop``): see ``integrations/sources/register.py``."""
    auth: AuthModel = AuthModel()
    pagination: PaginationModel = PaginationModel()
    id: str = "id"
    at: TimeModel = TimeModel()
    region: RegionModel = RegionModel()
    fields: dict[str, str]
    """Department field → record field."""
    constants: dict[str, Any] = {}
    value_maps: dict[str, dict[str, Any]] = {}
    """Record field → {department value → ours}."""
    required: list[str] = []
    free_text: list[str] = []
    personal: list[str] = ["id_card", "name", "phone"]
    """Department fields holding personal data: pseudonymised on the way in, even in quarantine."""
    interval: str = "5m"
    """How often the department delivers (a delivery overdue by twice this: ``late``)."""
    allowed_lateness: str = "0s"
    """How far behind its latest record a record may still come (live evaluation waits that long)."""
    stale_after: str = "1d"
    """Silence after which the source stops holding live evaluation back (``stale``)."""
    push_token: str | None = None
    """Name of the secret in ``settings.source_secrets`` the department presents (``Authorization:
    Bearer``) to push items to ``POST /v1/intake/{name}``. A source with neither ``path`` nor
    ``filedrop`` is pushed only, never pulled."""

    @field_validator("interval", "allowed_lateness", "stale_after")
    @classmethod
    def _span(cls, v: str) -> str:
        parse_span(v)
        return v

    def timing(self) -> SourceTiming:
        """The declared timing as durations."""
        return SourceTiming(parse_span(self.interval), parse_span(self.allowed_lateness), parse_span(self.stale_after))

    @model_validator(mode="after")
    def _one_transport(self) -> SourceModel:
        if sum(x is not None for x in (self.path, self.filedrop, self.care_register)) > 1:
            raise ValueError(Message(N_("数据源只能有 'path'（REST）、'filedrop' 或 'register' 之一"
                                        "（或都没有而有 'push_token'：只由对方推送）")))
        if self.path is None and self.filedrop is None and self.care_register is None and self.push_token is None:
            raise ValueError(Message(N_("数据源须有 'path'（REST）、'filedrop'、'register' "
                                        "或 'push_token'（推送）之一")))
        return self

    @field_validator("value_maps")
    @classmethod
    def _str_keys(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        # YAML reads 01 as 1; keys are compared as text, so normalise them once here.
        return {f: {str(k): val for k, val in m.items()} for f, m in v.items()}


class DefaultsModel(_Model):
    """Values every source gets unless it says otherwise."""

    base_url: str = "${simulator_url}"
    timezone: str | None = None


class SourcesFileModel(_Model):
    """The whole file."""

    defaults: DefaultsModel = DefaultsModel()
    sources: list[SourceModel]
