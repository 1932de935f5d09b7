"""Untrusted media in: ``image`` decodes image bytes and ``video`` decodes clips, each within
size, pixel and duration limits (``limits``: defined there once, the settings' defaults come
from it), raising an error of :mod:`realname.errors` on anything unusable.

May import ``realname.policy`` and ``realname.errors`` only (``realname.settings`` imports
``limits``). Importing it does nothing.
"""
