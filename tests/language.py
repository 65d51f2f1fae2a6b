"""Switching the deployment's language inside a test (the checks of the text are in :mod:`tests.cjk`)."""

from __future__ import annotations

import pytest

from integrations.settings import get_settings


def speak(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """Switch the deployment's language (``FENGHUO_LANG``) for the rest of the test."""
    monkeypatch.setenv("FENGHUO_LANG", lang)
    get_settings.cache_clear()
