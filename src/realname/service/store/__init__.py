"""Storage: the ``db`` (SQLAlchemy engine and sessions on SQLite or PostgreSQL), the table
``models``, the packaged Alembic ``migrations`` and ``migrate``, and ``audit_store`` (the audit
chain in the database).

May import the core (``realname.records`` and the rest); never ``service.api`` or
``service.usecases``. Importing it does nothing.
"""
