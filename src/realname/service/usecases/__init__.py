"""What the service does, one module per use case: ``registration`` (a session from consent to
bound number), ``verification`` (the capture judged in a worker), ``numbers``, ``people``,
``reviews``, ``purge``, ``signin`` and ``throttles``; ``lifecycle`` (the state machines of a
session and a review) and ``invariants`` (what must hold across tables).

May import :mod:`realname.service.store` and the core; never ``service.api``, ``cli`` or
``evaluation``. Importing it does nothing.
"""
