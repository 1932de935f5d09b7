"""What the service does, one module per use case: ``registration`` (a session from consent to
a verified capture), ``numbers`` (binding and ending numbers, the per-ID cap), ``people``
(outlets, staff and sign-in), ``reviews`` (the supervisor's queue), ``purge`` (retention);
``lifecycle`` (the state machines of a session and a review, applied as conditional UPDATEs)
and ``invariants`` (what must hold across tables).

May import :mod:`realname.service.store`, the service's own top-level modules (context,
verification, security...) and the core; never ``service.api``, ``cli`` or ``evaluation``, nor
any web framework (import-linter contracts). Importing it does nothing.
"""
