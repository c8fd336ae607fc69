"""Alembic migrations of the store; run them with :func:`schemas.migrate.upgrade`."""
