"""Persistence: ORM models, the engine/session factory and Alembic migrations.

This package imports nothing from ``bot`` or ``handlers``.
"""
