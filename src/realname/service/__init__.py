"""The HTTP registration service: FastAPI, SQLAlchemy, Alembic, in three layers.

Everything web and database lives in this package; the core library imports none of it.
Importing this package does nothing: :func:`realname.service.app.create_app` builds the app, and
its start-up (the lifespan) migrates the database and loads the models once.

* ``api/``: HTTP (routes, schemas, uploads, problem+json, the pages); it calls ``usecases``.
* ``usecases/``: registration, verification, numbers, people, reviews, purge, sign-in, the
  state machines and the invariants; they use ``store``.
* ``store/``: the database, its tables and migrations, and the audit chain's storage.
* Here: ``app`` (assembly), ``context`` (what a request needs), ``settings`` (the service's
  settings), ``keys``, ``security`` (passwords, tokens, roles), ``signin`` and ``throttles``
  (sign-in and session rate limits), ``verification`` (a capture judged by the core in a
  worker), ``workers`` (the bounded verification pool), ``metrics`` and ``server``.

Never imports :mod:`realname.evaluation` or :mod:`realname.cli` (import-linter contracts).
"""
