"""Alembic environment: migrations run on the connection handed over by ``integrations.store.db.upgrade``."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from integrations.store.db import include_object_for
from integrations.store.tables import METADATA

config = context.config
target_metadata = METADATA


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_object=include_object_for(connection.dialect.name))


def run() -> None:
    """Run migrations online, on the given connection or a fresh one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


run()
