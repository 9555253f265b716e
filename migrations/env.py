"""Alembic environment: runs on the connection kai.migrate hands it."""

from __future__ import annotations

from alembic import context

from kai.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations with `kai migrate` (it passes the configured database).")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
