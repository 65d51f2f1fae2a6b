"""Production refuses development secrets: each weak setting is named, with how to set it, in Chinese."""

from __future__ import annotations

import pytest

from integrations.settings import DEVELOPMENT_SECRETS, InsecureSettingsError, Settings

STRONG = "a" * 32
SECRETS = tuple(DEVELOPMENT_SECRETS)


def _strong(**overrides: str) -> Settings:
    values = {name: STRONG for name in SECRETS} | overrides
    return Settings(**values)  # type: ignore[arg-type]


def test_development_defaults_are_refused_in_production_each_named() -> None:
    with pytest.raises(InsecureSettingsError) as caught:
        Settings(env="production").require_safe_for("development")
    message = str(caught.value)
    assert message.startswith("生产环境拒绝启动：")
    for name in SECRETS:
        assert f"FENGHUO_{name.upper()} 仍是开发默认值" in message
    assert "openssl rand -hex 32" in message and "32 字节以上的随机值" in message


def test_the_refusal_speaks_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.i18n import explain
    from integrations.settings import get_settings

    with pytest.raises(InsecureSettingsError) as caught:
        Settings(env="production").require_safe_for("development")
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    said = explain(caught.value)
    assert said.startswith("Production refuses to start: FENGHUO_"), said
    for name in SECRETS:
        assert f"FENGHUO_{name.upper()} is still the development default" in said
    assert "openssl rand -hex 32" in said and "开发" not in said and "；" not in said


@pytest.mark.parametrize("name", SECRETS)
def test_each_secret_alone_is_checked(name: str) -> None:
    with pytest.raises(InsecureSettingsError, match=f"FENGHUO_{name.upper()} 仍是开发默认值"):
        _strong(**{name: DEVELOPMENT_SECRETS[name]}).require_safe_for("production")
    with pytest.raises(InsecureSettingsError, match=f"FENGHUO_{name.upper()} 只有 31 字节"):
        _strong(**{name: "b" * 31}).require_safe_for("production")
    others = [f"FENGHUO_{n.upper()}" for n in SECRETS if n != name]
    with pytest.raises(InsecureSettingsError) as caught:
        _strong(**{name: "b" * 31}).require_safe_for("production")
    assert not any(other in str(caught.value) for other in others)


def test_bytes_not_characters_count() -> None:
    # 11 Chinese characters are 33 UTF-8 bytes: long enough.
    assert _strong(link_secret="烽" * 11).require_safe_for("production") == "production"
    with pytest.raises(InsecureSettingsError, match="30 字节"):
        _strong(link_secret="烽" * 10).require_safe_for("production")


def test_strong_secrets_start_and_development_never_checks() -> None:
    assert _strong().require_safe_for("production") == "production"
    assert Settings().require_safe_for("development") == "development"
    # An explicit FENGHUO_ENV wins over the caller's default, both ways.
    assert Settings(env="development").require_safe_for("production") == "development"
    with pytest.raises(InsecureSettingsError):
        Settings(env="production").require_safe_for("development")


def test_env_and_session_secret_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_ENV", "production")
    monkeypatch.setenv("FENGHUO_SESSION_SECRET", "s" * 40)
    settings = Settings()
    assert settings.env == "production"
    assert settings.session_secret.get_secret_value() == "s" * 40
    assert "ssss" not in repr(settings)  # a SecretStr never prints
    with pytest.raises(InsecureSettingsError) as caught:
        settings.require_safe_for("development")
    assert "FENGHUO_SESSION_SECRET" not in str(caught.value)
