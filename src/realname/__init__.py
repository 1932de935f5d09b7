"""realname: telecom real-name registration with portrait matching (offline, CPU-only).

Importing does nothing: no model is loaded until :func:`load_engines` is called.

>>> from realname import load_engines, load_policy, match_faces
>>> engines, policy = load_engines(), load_policy()
>>> result = match_faces("id_portrait.jpg", ["frame1.jpg", "frame2.jpg"], engines, policy)
>>> result.passed, result.reasons
"""

from realname.engines import Engines, load_engines
from realname.errors import RealnameError
from realname.match import FaceMatch, match_faces
from realname.policy import MatchPolicy, load_policy

__all__ = [
    "Engines",
    "FaceMatch",
    "MatchPolicy",
    "RealnameError",
    "load_engines",
    "load_policy",
    "match_faces",
]
__version__ = "0.1.0"
