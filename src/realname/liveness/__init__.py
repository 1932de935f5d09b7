"""Active liveness over a clip, one stage per module: per-frame ``signals`` (landmarks, eye and
mouth openness), head ``pose``, the ``actions`` found in those series, the prompt-locked
``challenge`` and its schedule, the ``passive`` replay and print cues, ``check`` (the whole
verdict, :func:`realname.liveness.check.check_liveness`) and ``plot`` (the evidence picture a
supervisor reviews).

May import ``realname.face``, ``realname.media``, ``realname.engines``, ``realname.policy`` and
``realname.errors``; never ``service``, ``cli`` or ``evaluation``, nor any web or database
package. Importing it does nothing.
"""
