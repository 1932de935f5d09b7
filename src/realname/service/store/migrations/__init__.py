"""Alembic migrations, shipped in the package and run programmatically (no alembic.ini)."""
