"""Repositories: SQLite by default (PostgreSQL later), each behind a port defined upstream."""

from standoff.store.sqlite_audit import SqliteAuditStore

__all__ = ["SqliteAuditStore"]
