"""The fields of the one settings object, read from the environment (``FENGHUO_``) or a ``.env`` file."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.messages import N_, Message, joined
from domain.validation_messages import error_message
from integrations.settings.secrets import (
    DEVELOPMENT_OIDC_SECRET,
    DEVELOPMENT_SECRETS,
    Environment,
    insecure_secrets,
    require_safe_for,
)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
"""The checkout (or installed tree) that holds ``rules/``, ``domain/`` and friends."""

Language = Literal["zh", "en"]
"""Languages of the user-facing text: Chinese (the source, default) and English (integrations/i18n.py)."""
TotpTier = Literal["city", "district"]
"""The tiers whose accounts are offered TOTP (the region node of the account's responder)."""


class Settings(BaseSettings):
    """Fenghuo's configuration. Environment variables are ``FENGHUO_<FIELD>`` (case-insensitive)."""

    # populate_by_name: a field with env aliases (templates_dir) can still be passed by its name.
    model_config = SettingsConfigDict(env_prefix="FENGHUO_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    home: Path = Field(default=Path(".fenghuo"), description="Working folder: database, outbox files, demo data.")
    lang: Language = Field(
        default="zh", description="Language of pages, messages, reports and the CLI: zh (中文, default) or en.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the store; default a SQLite file in `home`."
    )
    rulebook: Path = Field(default=PACKAGE_ROOT / "rules" / "catalog", description="Folder of rule files.")
    responders: Path = Field(
        default=PACKAGE_ROOT / "integrations" / "data" / "responders.yaml",
        description="Responders directory: who answers for which region node.",
    )
    escalation: Path = Field(
        default=PACKAGE_ROOT / "integrations" / "data" / "escalation.yaml",
        description="Escalation policy: level -> tier, SLAs, reminders, leadership, overrides.",
    )
    regions: Path = Field(
        default=PACKAGE_ROOT / "integrations" / "data" / "regions.yaml",
        description="Region directory: names of region codes.",
    )
    care_categories: Path = Field(
        default=PACKAGE_ROOT / "integrations" / "data" / "care_categories.yaml",
        description="Categories of people to care for (台账类别) and their visit intervals: local policy.",
    )
    env: Environment | None = Field(
        default=None,
        description="development or production. Unset: `serve` and deployed flow runs are production "
        "(`serve --dev` for development); the demo, the CLI and tests run as development.",
    )
    pseudonym_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRETS["pseudonym_key"]),
        description="HMAC key for pseudonymising personal identifiers at ingest. Set it in production.",
    )
    link_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRETS["link_secret"]),
        description="Key that signs one-click acknowledgement links.",
    )
    link_secrets_previous: list[SecretStr] = Field(
        default_factory=list,
        description="Rotation: earlier link secrets that still verify (never sign) until previous_secrets_until; "
        'JSON list in the environment, e.g. ["old..."].',
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRETS["webhook_secret"]),
        description="Key that signs webhook notifications (X-Fenghuo-Signature). Set it in production.",
    )
    session_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRETS["session_secret"]),
        description="Key that signs the responders' web login sessions. Set it in production.",
    )
    session_secrets_previous: list[SecretStr] = Field(
        default_factory=list,
        description="Rotation: earlier session secrets whose cookies still verify until previous_secrets_until.",
    )
    previous_secrets_until: datetime | None = Field(
        default=None,
        description="End of the rotation's grace period (ISO 8601 with zone): after it the previous link and "
        "session secrets verify nothing. Unset: until they are removed from the settings.",
    )
    totp_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRETS["totp_key"]),
        description="Key that encrypts the workspace accounts' TOTP secrets in the store. Set it in production; "
        "changing it voids every enrolment (re-enrol with `fenghuo users totp`).",
    )
    totp_required_tiers: list[TotpTier] = Field(
        default_factory=list,
        description='Tiers whose accounts must log in with a TOTP code (JSON, e.g. ["city", "district"]); '
        "default none: district and city accounts may enrol, nobody must.",
    )
    oidc_issuer: str | None = Field(
        default=None, description="Government single sign-on (OIDC) issuer URL; unset, no SSO login is offered.")
    oidc_client_id: str = Field(default="fenghuo", description="Fenghuo's client id at the OIDC provider.")
    oidc_client_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_OIDC_SECRET),
        description="Fenghuo's client secret at the OIDC provider (production refuses the default).",
    )
    oidc_username_claim: str = Field(
        default="preferred_username",
        description="ID token claim whose value is the Fenghuo username (`fenghuo users add`); no auto-creation.",
    )
    simulator_url: str = Field(default="http://127.0.0.1:8765", description="Base URL of departmental systems.")
    http_timeout_s: float = Field(default=10.0, description="Timeout of one HTTP request to a source.")
    http_retries: int = Field(default=4, description="Retries of a failed page fetch (5xx, 429, timeouts).")
    reject_unknown_regions: bool = Field(
        default=True,
        description="Quarantine records whose region code is not in the region directory (when it has names).",
    )
    page_size: int = Field(default=500, description="Records asked for per page.")
    sources_file: Path = Field(
        default=PACKAGE_ROOT / "integrations" / "data" / "sources.yaml",
        description="Departmental sources: endpoints, auth, pagination, field mappings (sources.yaml).",
    )
    source_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Secrets that sources.yaml names (API keys, tokens, OAuth2 client secrets), e.g. '
        '{"hotline-key": "..."}; JSON in the environment (FENGHUO_SOURCE_SECRETS).',
    )
    intake_max_bytes: int = Field(
        default=8 * 1024 * 1024, gt=0, description="Largest body POST /v1/intake/{source} accepts (bytes): 413 above.")
    intake_max_in_flight: int = Field(
        default=4, gt=0, description="Pushes stored at once; another gets 429 with Retry-After (backpressure).")
    checkpoint_every_s: float = Field(
        default=300.0, gt=0, description="The evaluator's full state is checkpointed at most this often "
                                         "(seconds of wall time); each batch commits only its position.")
    checkpoint_every_records: int = Field(
        default=200_000, gt=0, description="…or after this many records evaluated since the last checkpoint.")
    live_batch_records: int = Field(
        default=200, gt=0, description="Most records the resident evaluator takes in one batch (one instant is never "
                                       "split): an urgent record in a burst is committed and delivered after its own "
                                       "batch, not behind the whole burst.")
    silence_max_hours: float = Field(
        default=72.0, gt=0, description="Longest silence allowed (hours): every silence ends, none is forever.")
    silence_max_recurring_days: float = Field(
        default=92.0, gt=0, description="Longest a recurring (scheduled) silence may stay in force (days).")
    silence_remind_long_hours: float = Field(
        default=24.0, gt=0, description="A silence at least this long (hours) reminds its author before it ends.")
    silence_remind_before_hours: float = Field(
        default=2.0, gt=0, description="How long (hours) before a long silence ends its author is reminded.")
    templates_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("fenghuo_templates", "fenghuo_templates_dir"),
        description="FENGHUO_TEMPLATES: an operator's folder of message templates (<step>.j2, "
                    "<channel>/<step>.j2, en/…); a file there replaces the shipped one, any other is shipped.",
    )
    schedules: Path = Field(
        default=PACKAGE_ROOT / "integrations" / "data" / "schedules.yaml",
        description="Named recurring schedules for silences (`fenghuo silence add --schedule NAME`).",
    )
    outbox_dir: Path | None = Field(default=None, description="Where the file channel writes; default home/outbox.")

    # CAP 1.2 alerts and the Atom feed (integrations/cap.py).
    cap_sender: str = Field(
        default="fenghuo@city.example.gov.cn", description="CAP <sender>: who issues the alerts (no spaces)."
    )
    # The defaults are catalogue msgids: shown in the deployment's language unless set to a name of one's own.
    cap_sender_name: str = Field(default=N_("烽火社会稳定风险预警平台"), description="CAP <senderName>.")
    cap_timezone: str = Field(default="Asia/Shanghai", description="Offset CAP times are written in.")
    cap_exercise: bool = Field(
        default=False, description="CAP status Exercise instead of Actual on every alert (demo, drills)."
    )
    cap_restriction: str = Field(
        default=N_("仅限负有处置职责的各级责任人员内部使用，不得对外公开。"),
        description="CAP <restriction> of the Restricted scope.",
    )
    cap_feed_token: SecretStr | None = Field(
        default=None,
        description="The operator's city-wide Bearer token of the restricted CAP feed (/cap/feed.atom): every "
        "warning, for the city's own aggregator. Unset: only responders' personal feed tokens "
        "(`fenghuo users feed-token`) and workspace sessions read the feed, each their own subtree.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8766",
        description="Where responders reach Fenghuo: one-click links, the CAP feed.",
    )

    # E-mail over SMTP (integrations/notify/email.py).
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server.")
    smtp_port: int = Field(default=25, description="SMTP port (587 with STARTTLS, 465 with implicit TLS).")
    smtp_user: str | None = Field(default=None, description="SMTP login; none means no AUTH.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="Implicit TLS (SMTPS, usually port 465).")
    smtp_ca_file: Path | None = Field(
        default=None, description="CA bundle that signs the SMTP server's certificate (an internal CA)."
    )
    smtp_from: str = Field(default="fenghuo@city.example.gov.cn", description="From address of e-mails.")
    smtp_timeout_s: float = Field(default=10.0, description="Timeout of one SMTP conversation step.")

    # IM group robots through apprise (integrations/notify/apprise_robots.py).
    im_robot_endpoints: dict[str, str] = Field(
        default_factory=dict,
        description='Per robot channel, a scheme+host replacing the vendor\'s (政务微信, 专有钉钉, a proxy), '
        'e.g. {"wecom": "https://gov-wecom.example.cn"}; JSON in the environment.',
    )

    # One-click action links (integrations/links.py, integrations/actions_api.py).
    action_links: bool = Field(
        default=True, description="Put signed one-click acknowledge/resolve links in notifications.")
    link_ttl_s: int = Field(default=72 * 3600, description="How long a one-click link stays valid.")

    # Operations alerts (integrations/ops_alerts.py): failed scheduled runs, once per failure streak.
    admin_node: str | None = Field(
        default=None,
        description="Region code whose responders (responders.yaml, specialist units left out) are told "
        "when scheduled flow runs fail; default the directory's city node.",
    )

    @field_validator("lang", mode="before")
    @classmethod
    def _known_language(cls, value: object) -> object:
        # pydantic's own "Input should be 'zh' or 'en'" names neither the variable nor what to do.
        if isinstance(value, str) and value.strip().lower() in ("zh", "en"):
            return value.strip().lower()
        raise ValueError(f"FENGHUO_LANG 只能是 zh（中文，默认）或 en（English），不能是 {value!r}；"
                         "请改正环境变量或 .env 文件 (FENGHUO_LANG must be zh or en)")

    @property
    def resolved_database_url(self) -> str:
        """The store URL: the configured one, else a SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / 'fenghuo.db').resolve()}"

    @property
    def resolved_outbox_dir(self) -> Path:
        """Folder the file channel writes notifications to."""
        return self.outbox_dir or self.home / "outbox"

    def link_keys(self, now: datetime) -> list[SecretStr]:
        """The keys a link may be signed with at ``now``: the current one first, then those in their grace."""
        return [self.link_secret, *self._in_grace(self.link_secrets_previous, now)]

    def session_keys(self, now: datetime) -> list[SecretStr]:
        """The keys a session cookie may be signed with at ``now``: the current one first, then those in grace."""
        return [self.session_secret, *self._in_grace(self.session_secrets_previous, now)]

    def _in_grace(self, keys: list[SecretStr], now: datetime) -> list[SecretStr]:
        return [] if self.previous_secrets_until is not None and now >= self.previous_secrets_until else keys

    def insecure_secrets(self) -> list[str]:
        """Why production would refuse these settings: one Chinese sentence per weak secret (empty: fine)."""
        return insecure_secrets(self)

    def require_safe_for(self, default_env: Environment) -> Environment:
        """Refuse to start in production with weak secrets; returns the environment in force.

        ``default_env`` applies when ``env`` is unset (``serve`` and deployed runs pass production).
        Raises :class:`InsecureSettingsError` naming every weak setting and how to set it.
        """
        return require_safe_for(self, default_env)

    # Delivery beside the resident evaluator (integrations/delivery_worker.py, flows/live_delivery.py).
    live_delivery: bool = Field(
        default=True, description="`evaluate --follow` and `serve` deliver the outbox in a thread beside the resident "
                                  "evaluator, woken by each committed batch (no separate `deliver` run needed).")
    delivery_sweep_s: float = Field(
        default=30.0, gt=0, description="…and a full round (SLA watch, end of silences, delivery) at least this often.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()


def settings_problem() -> str | None:
    """Why the settings cannot be read (one line per bad setting, Chinese first), or ``None`` when they can."""
    try:
        get_settings()
    except ValidationError as exc:
        # Messages (pydantic's English never shown): the entry point translates them once the language is known.
        return joined((error_message(e, field=f"FENGHUO_{str(e['loc'][0]).upper()}") if e.get("loc") else
                       error_message(e) for e in exc.errors()), Message(N_("；")))
    return None
