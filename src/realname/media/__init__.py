"""Untrusted media in: ``image`` decodes image bytes and ``video`` decodes clips, each within
size, pixel and duration limits, raising an error of :mod:`realname.errors` on anything unusable.

May import ``realname.policy``, ``realname.settings`` and ``realname.errors`` only. Importing it
does nothing.
"""
