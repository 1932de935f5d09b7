"""What is kept and how it is proven: the tamper-evident audit chain (``audit``) and personal
data at rest (``crypto``: AES-256-GCM and HMAC indexes).

May import ``realname.errors`` only; no engine, web or database package. The service stores
these records (:mod:`realname.service.store`). Importing it does nothing.
"""
