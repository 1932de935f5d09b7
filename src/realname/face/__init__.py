"""Faces in one image: find them (``detect``), judge whether one is usable (``quality``,
``occlusion``), advise the customer on framing (``framing``) and compare two (``match``).

May import ``realname.engines``, ``realname.media``, ``realname.policy`` and ``realname.errors``;
never the liveness stages, ``service``, ``cli`` or ``evaluation``, nor any web or database
package. Importing it does nothing.
"""
