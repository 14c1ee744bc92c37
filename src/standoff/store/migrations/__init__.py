"""Alembic migrations of the store (run by :func:`standoff.store.sql.open_store`)."""
