"""Every table of the store, in one import: what Alembic's environment and the schema drift test compare
the migrations with.

The table modules import each other only downwards (accounts → audit → models); gathering them here, not
at the end of ``models``, keeps that graph free of cycles.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from integrations.store import (
    assessment_models,
    checkpoint_models,
    models,
    registers,
    silences,
    task_models,
    users,
    web_sessions,
)

__all__ = ["METADATA", "assessment_models", "checkpoint_models", "models", "registers", "silences", "task_models",
           "users", "web_sessions"]

METADATA = SQLModel.metadata
"""The metadata every table above is registered on."""
