"""Secrets production refuses: the public development defaults and the shortest length accepted.

Kept apart from the fields so that the rule ``serve`` enforces at start (``flows/guard.py``) reads in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from domain.messages import N_, Message

if TYPE_CHECKING:
    from integrations.settings.model import Settings

Environment = Literal["development", "production"]
"""Where Fenghuo runs: production refuses development secrets."""

MIN_SECRET_BYTES = 32
"""Shortest secret production accepts (UTF-8 bytes): ``openssl rand -hex 32`` gives 64."""

# The known development defaults, so that production can refuse them (guard.py): public on purpose.
DEVELOPMENT_SECRETS = {  # nosec B105  (public development defaults, kept so that production can refuse them)
    "pseudonym_key": "fenghuo-development-key-change-me",
    "link_secret": "fenghuo-development-link-secret",
    "webhook_secret": "fenghuo-development-webhook-secret",
    "session_secret": "fenghuo-development-session-secret",
    "totp_key": "fenghuo-development-totp-key",
}
"""The development defaults of the secrets production refuses (anyone reading the source knows them)."""
DEVELOPMENT_OIDC_SECRET = "fenghuo-development-oidc-secret"  # nosec B105  (public on purpose, refused in production)
"""The OIDC client secret's development default: production refuses it once ``oidc_issuer`` is set."""


def _joined(problems: list[str]) -> str:
    """The problems as one Message joined with ``；`` (each still translatable where it is shown)."""
    out = problems[0]
    for more in problems[1:]:
        out = Message(N_("{first}；{then}"), first=out, then=more)
    return out


class InsecureSettingsError(RuntimeError):
    """Production refuses to start: a secret is a development default or too short (message in Chinese)."""


def insecure_secrets(settings: Settings) -> list[str]:
    """Why production would refuse these settings: one Chinese sentence per weak secret (empty: fine)."""
    problems: list[str] = []
    for name, default in DEVELOPMENT_SECRETS.items():
        value = getattr(settings, name).get_secret_value()
        variable = f"FENGHUO_{name.upper()}"
        if value == default:
            problems.append(Message(N_("{variable} 仍是开发默认值"), variable=variable))
        elif len(value.encode("utf-8")) < MIN_SECRET_BYTES:
            problems.append(Message(N_("{variable} 只有 {n} 字节，短于 {minimum} 字节"), variable=variable,
                                    n=len(value.encode("utf-8")), minimum=MIN_SECRET_BYTES))
    for name in ("link_secrets_previous", "session_secrets_previous"):
        for old in getattr(settings, name):
            value = old.get_secret_value()
            if value in DEVELOPMENT_SECRETS.values() or len(value.encode("utf-8")) < MIN_SECRET_BYTES:
                problems.append(Message(N_("{variable} 含开发默认值或过短的密钥"), variable=f"FENGHUO_{name.upper()}"))
                break
    oidc_secret = settings.oidc_client_secret.get_secret_value()
    if settings.oidc_issuer and (not oidc_secret or oidc_secret == DEVELOPMENT_OIDC_SECRET):
        problems.append(Message(N_("已配置 FENGHUO_OIDC_ISSUER，但 FENGHUO_OIDC_CLIENT_SECRET 未设置或仍是开发默认值"
                                   "（填写统一身份认证平台分配的客户端密钥）")))
    return problems

def require_safe_for(settings: Settings, default_env: Environment) -> Environment:
    """Refuse to start in production with weak secrets; returns the environment in force.

    ``default_env`` applies when ``env`` is unset (``serve`` and deployed runs pass production).
    Raises :class:`InsecureSettingsError` naming every weak setting and how to set it.
    """
    env = settings.env or default_env
    problems = insecure_secrets(settings) if env == "production" else []
    if problems:
        raise InsecureSettingsError(Message(
            N_("生产环境拒绝启动：{problems}；请设置 {minimum} 字节以上的随机值，"
               "例如 openssl rand -hex 32（写入环境变量或 .env 文件）。仅供开发试用时可设置 "
               "FENGHUO_ENV=development（serve 可加 --dev）。"),
            problems=_joined(problems), minimum=MIN_SECRET_BYTES))
    return env
