"""Alembic environment: runs migrations on the connection handed over by ``core.migrate``."""

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs bare `alembic`
    raise RuntimeError("run migrations through `jupyter astro-ops db upgrade`")

context.configure(
    connection=connection,
    target_metadata=None,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
