"""Alembic environment: migrates the engine handed in by central.db.migrate."""

from __future__ import annotations

from alembic import context

from central.db.models import Base
from central.db.partitions import include_in_autogenerate

engine = context.config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations through `anpr-central db upgrade` (central.db.migrate.upgrade)")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()
