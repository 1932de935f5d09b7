"""The HTTP registration service: FastAPI, SQLAlchemy, Alembic (issue 4).

Everything web and database lives in this package; the core library imports none of it.
Importing this package does nothing: :func:`realname.service.app.create_app` builds the app, and
its start-up (the lifespan) migrates the database and loads the models once.

Modules: ``app`` (the FastAPI app), ``db`` and ``models`` (SQLAlchemy), ``migrations`` (Alembic,
run programmatically), ``keys`` (data, index and audit signing keys), ``security`` (passwords,
tokens, roles), ``audit_store`` (the hash chain in the database), ``workers`` (the bounded
verification pool), ``verification`` (decode and verify a clip), ``registration``, ``numbers``,
``reviews``, ``people`` and ``purge`` (the use cases), ``schemas`` (request and response bodies),
``routes`` (one router per resource).
"""
