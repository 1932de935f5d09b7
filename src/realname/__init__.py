"""realname: telecom real-name registration with portrait matching (offline, CPU-only).

Importing does nothing: no model is loaded until :func:`load_engines` is called.

>>> from realname import load_engines, load_policy, match_faces
>>> engines, policy = load_engines(), load_policy()
>>> result = match_faces("id_portrait.jpg", ["frame1.jpg", "frame2.jpg"], engines, policy)
>>> result.passed, result.reasons
"""

from realname.engines import Engines, load_engines
from realname.errors import RealnameError
from realname.face.match import FaceMatch, match_faces
from realname.liveness.challenge import Challenge, issue_challenge
from realname.liveness.check import LivenessReport, check_liveness
from realname.media.video import Clip, load_clip
from realname.policy import MatchPolicy, load_policy
from realname.verify import Verification, verify_identity

__all__ = [
    "Challenge",
    "Clip",
    "Engines",
    "FaceMatch",
    "LivenessReport",
    "MatchPolicy",
    "RealnameError",
    "Verification",
    "check_liveness",
    "issue_challenge",
    "load_clip",
    "load_engines",
    "load_policy",
    "match_faces",
    "verify_identity",
]
__version__ = "0.1.0"
