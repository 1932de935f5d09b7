"""The HTTP surface: ``routes`` (one module per resource), request and response ``schemas``,
``deps`` (authentication and the context per request), ``uploads`` (the bounded multipart
reader), ``problems`` (RFC 9457 problem+json), ``openapi`` and ``web`` (the static pages).

Talks to storage only through :mod:`realname.service.usecases`: it never imports
:mod:`realname.service.store` (an import-linter contract). Importing it does nothing.
"""
