"""Who the customer is, as text: the canonical form of every identifier (``identifiers``), the
resident ID card number (``idcard``) and the real-name rules that need no database (``rules``:
card validity, guardian consent, the mobile number). ID card OCR joins here.

May import ``realname.errors`` and ``realname.policy`` only; no engine, web or database package.
Importing it does nothing.
"""
