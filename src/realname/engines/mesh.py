"""MediaPipe Face Mesh (Apache-2.0) as the landmarker: 468 3-D points from a 192x192 crop.

The model file ``face_landmark.tflite`` ships in the ``mediapipe==0.10.21`` wheel, installed with
``pip install --no-deps`` by ``make install`` and found with :func:`importlib.util.find_spec`:
the ``mediapipe`` package itself is never imported (its dependencies would pull a second cv2 and
``numpy<2``). It runs under LiteRT (``ai-edge-litert``, the TFLite runtime on PyPI), one
interpreter per thread (an interpreter is not thread-safe), one CPU thread each.

The crop follows MediaPipe's own face-landmark graph: a square 1.5 times the detector's box,
centred on the box and rotated so that the eye line is horizontal (from YuNet's eye points),
resized to 192x192 RGB scaled to [0, 1]. The model returns 468 (x, y, z) in crop pixels (z:
depth, same scale as x, smaller toward the camera) and a face-presence logit; the points are
mapped back to image pixels (z scaled with x). :meth:`MeshLandmarker.landmarks` returns the
68 points of the iBUG order that the signal code measures (eye openness, mouth opening, head
pose), each taken from the mesh vertex at that anatomical place (:data:`IBUG68_FROM_MESH`);
:meth:`MeshLandmarker.mesh` returns all 468 with depth.

The eyes: the mesh's own eyelid vertices barely close in a blink (BPCER 11.8% with them alone),
so MediaPipe's Iris model (``iris_landmark.tflite``, same wheel) places the lids on a 64x64 crop
around each eye (:meth:`MeshLandmarker.eyelids`, two runs a frame, about 1.5 times the mesh's
own cost). :meth:`MeshLandmarker.locate`, what the liveness signals use, returns the mesh's own
68 points and the pose solved from them, so that a frame's pose is the same whether or not its
eyes are refined (the Iris model's eye corners sit 1-2 px from the mesh's, which moved yaw by a
median 1.3 degrees); the signals run :meth:`~MeshLandmarker.eyelids` only where a blink is judged
(:func:`realname.liveness.check.blink_spans`). :meth:`MeshLandmarker.landmarks` returns the 68
points with the refined eyes.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines._state import require_loaded
from realname.engines.base import Face, FloatArray, Landmarks
from realname.engines.models import resolve_model
from realname.engines.pose import FaceModel, head_pose

__all__ = ["IBUG68_FROM_MESH", "MESH_FACE", "MeshLandmarker"]

INPUT_SIZE = 192
# One LiteRT thread per interpreter. LiteRT holds the GIL while it runs a model (measured: 200
# face-mesh runs took 242 ms in one thread, 440 ms in two threads at once), so the signal
# workers cannot overlap model runs; two LiteRT threads per run (0.86 against 1.33 ms alone)
# made the whole verification slower (0.65-0.78 s against 0.59-0.64 s), competing with the other
# worker's OpenCV work.
MESH_THREADS = 1
CROP_SCALE = 1.5  # MediaPipe's face-landmark ROI: 1.5 times the detection box, square
EYE_SIZE = 64
_GREY_NDIM = 2  # a grey image has two axes (rows, columns), a colour one a third
EYE_SCALE = 2.3  # MediaPipe's iris ROI: 2.3 times the eye's corner distance, square

# Mesh vertex per iBUG-68 point (image-left = the person's right, as in the 68-point order):
# jaw 0-16 along the face oval from the right ear over the chin (152) to the left ear (the
# lower points one oval vertex nearer the chin than evenly spaced: where dlib puts them, median
# 0.07-0.10 inter-ocular distances off on 200 LFW faces); brows
# 17-26 outer to inner on the right, inner to outer on the left; nose bridge 27-30 (168 between
# the eyes down to the tip, 1) and the nostril base 31-35; eyes 36-41 (right: outer corner 33,
# upper lid 160/158, inner corner 133, lower lid 153/144) and 42-47 (left: inner 362, upper
# 385/387, outer 263, lower 373/380); outer lips 48-59 from the right corner (61) over the top
# (0) to the left corner (291) and back under the bottom (17); inner lips 60-67 (78, 81, 13,
# 311, 308, 402, 14, 178).
IBUG68_FROM_MESH: tuple[int, ...] = (
    127, 234, 93, 132, 58, 136, 149, 176, 152, 400, 378, 365, 288, 361, 323, 454, 356,
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    168, 197, 5, 1, 98, 97, 2, 326, 327,
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    78, 81, 13, 311, 308, 402, 14, 178,
)  # fmt: skip


# The face that head pose is solved against (:func:`realname.engines.pose.head_pose`): 26 points
# that
# stay put on the skull (chin, brows, nose, eye and mouth corners; not the face oval, the eyelids
# or the lips), placed where the mesh itself puts them on a frontal face. Derived from the mesh
# of scikit-image's astronaut photo (a packaged image, no evaluation data): turned to face the
# camera by its symmetry (the mean chord of the mirror-image point pairs, the line from the chin
# to the nose bridge), made symmetric, scaled to the iBUG mean face's 86.6 mm between the outer
# eye corners; ``tests/engines/test_mesh.py`` derives it again.
#
# Why not the iBUG mean face: its ear points follow the silhouette that dlib's jaw points find,
# while the mesh's face-oval vertices are fixed places on the skin that slide inward as the head
# turns; solved with them, turns read 0.8 times as large (median over the 76 live clips of
# ../shared/data) and three labelled turns were missed. Measured 2026-12-01 on those clips (the
# mesh tracking; each clip challenged with the actions labelled in it): the iBUG face, 3 clips
# with a missed step, 24 of 31 labelled events found within 0.5 s; the iBUG face without its ear
# points, 1 clip and 26 of 31, but its pitch swung by 14 degrees between 3-12 px shifts of one
# photo; this face, 0 clips and 25 of 31. The mesh's own depth alone (the face's symmetry plane
# from 214 mirror-vertex pairs) was smooth but read real turns at 0.65 times the angles of the
# 2-D points: 6 clips missed a step.
MESH_FACE = FaceModel(
    "mediapipe-mesh-astronaut",
    (8, *range(17, 36), 36, 39, 42, 45, 48, 54),
    np.array(
        [
            (0.0, -73.8, -26.5),  # 8
            (-54.4, 42.3, -49.2),  # 17
            (-48.8, 49.8, -42.9),  # 18
            (-39.8, 54.2, -37.1),  # 19
            (-28.0, 55.0, -31.7),  # 20
            (-14.4, 53.8, -28.8),  # 21
            (14.4, 53.8, -28.8),  # 22
            (28.0, 55.0, -31.7),  # 23
            (39.8, 54.2, -37.1),  # 24
            (48.8, 49.8, -42.9),  # 25
            (54.4, 42.3, -49.2),  # 26
            (0.0, 37.2, -26.5),  # 27
            (0.0, 24.7, -15.3),  # 28
            (0.0, 14.3, -2.9),  # 29
            (0.0, 0.0, 0.0),  # 30
            (-16.8, -5.4, -21.9),  # 31
            (-7.3, -7.6, -15.7),  # 32
            (0.0, -8.1, -14.0),  # 33
            (7.3, -7.6, -15.7),  # 34
            (16.8, -5.4, -21.9),  # 35
            (-43.3, 28.7, -45.9),  # 36
            (-16.2, 27.5, -40.3),  # 39
            (16.2, 27.5, -40.3),  # 42
            (43.3, 28.7, -45.9),  # 45
            (-29.6, -23.9, -36.2),  # 48
            (29.6, -23.9, -36.2),  # 54
        ],
        dtype=np.float64,
    ),
)  # fmt: skip


def crop_transform(face: Face) -> npt.NDArray[np.float64]:
    """The 2x3 affine that maps image pixels to the model's 192x192 crop for ``face``."""
    x, y, w, h = face.box
    (rx, ry), (lx, ly) = face.landmarks[0], face.landmarks[1]
    angle = math.atan2(ly - ry, lx - rx)  # the eye line's slope, image coordinates
    side = CROP_SCALE * max(w, h)
    cx, cy = x + w / 2.0, y + h / 2.0
    scale = INPUT_SIZE / side
    cos, sin = math.cos(-angle) * scale, math.sin(-angle) * scale
    # rotate by -angle about the centre, scale, and put the centre at the crop's middle
    return np.array(
        [
            [cos, -sin, INPUT_SIZE / 2 - (cos * cx - sin * cy)],
            [sin, cos, INPUT_SIZE / 2 - (sin * cx + cos * cy)],
        ],
        dtype=np.float64,
    )


def eye_transform(first: FloatArray, second: FloatArray) -> npt.NDArray[np.float64]:
    """The 2x3 affine from image pixels to the iris model's 64x64 eye crop: a square
    ``EYE_SCALE`` times the corner distance, centred between the corners ``first`` and
    ``second``, rotated so that the line from ``first`` to ``second`` runs left to right."""
    (ax, ay), (bx, by) = (float(v) for v in first[:2]), (float(v) for v in second[:2])
    angle = math.atan2(by - ay, bx - ax)
    side = EYE_SCALE * max(math.hypot(bx - ax, by - ay), 1.0)
    scale = EYE_SIZE / side
    cx, cy = (ax + bx) / 2, (ay + by) / 2
    cos, sin = math.cos(-angle) * scale, math.sin(-angle) * scale
    return np.array(
        [
            [cos, -sin, EYE_SIZE / 2 - (cos * cx - sin * cy)],
            [sin, cos, EYE_SIZE / 2 - (sin * cx + cos * cy)],
        ],
        dtype=np.float64,
    )


def _rgb(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    code = cv2.COLOR_GRAY2RGB if image.ndim == _GREY_NDIM else cv2.COLOR_BGR2RGB
    return np.asarray(cv2.cvtColor(image, code), dtype=np.uint8)


class MeshLandmarker:
    """MediaPipe Face Mesh under LiteRT (Apache-2.0 model; see the module docstring)."""

    name = "mesh"
    version = "mediapipe-0.10.21 face_landmark.tflite"
    n_points = 68

    def __init__(self) -> None:
        self._model: str | None = None
        self._eye_model = ""
        self._local = threading.local()

    def load(self) -> None:
        if self._model is not None:
            return
        path = str(resolve_model("face_mesh"))
        self._eye_model = str(resolve_model("iris_landmark"))
        self._interpreter(path)  # fail here, not on the first frame, if the runtime is missing
        self._model = path

    def _interpreter(self, path: str) -> Any:
        interpreter = getattr(self._local, "interpreter", None)
        if interpreter is None:
            from ai_edge_litert.interpreter import Interpreter

            interpreter = Interpreter(model_path=path, num_threads=MESH_THREADS)
            interpreter.allocate_tensors()
            inputs = interpreter.get_input_details()
            outputs = interpreter.get_output_details()
            points = next(o["index"] for o in outputs if int(np.prod(o["shape"])) == 468 * 3)
            eye = Interpreter(model_path=self._eye_model, num_threads=MESH_THREADS)
            eye.allocate_tensors()
            contour = next(
                o["index"] for o in eye.get_output_details() if int(np.prod(o["shape"])) == 71 * 3
            )
            self._local.interpreter = interpreter
            self._local.io = (inputs[0]["index"], points)
            self._local.eye = eye
            self._local.eye_io = (eye.get_input_details()[0]["index"], contour)
        return interpreter

    def mesh(self, image: npt.NDArray[np.uint8], face: Face) -> FloatArray:
        """468 x 3 points: x, y in image pixels and z (depth) on the same scale."""
        return self._mesh(_rgb(image), face)

    def _mesh(self, rgb: npt.NDArray[np.uint8], face: Face) -> FloatArray:
        model = require_loaded(self._model, self.name)
        interpreter = self._interpreter(model)
        input_index, output_index = self._local.io
        forward = crop_transform(face)
        crop = cv2.warpAffine(
            rgb,
            forward,
            (INPUT_SIZE, INPUT_SIZE),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        tensor = (crop.astype(np.float32) / 255.0)[None]
        interpreter.set_tensor(input_index, tensor)
        interpreter.invoke()
        raw = np.asarray(interpreter.get_tensor(output_index), dtype=np.float64).reshape(-1, 3)
        back = cv2.invertAffineTransform(forward)
        xy = raw[:, :2] @ back[:, :2].T + back[:, 2]
        z = raw[:, 2] * math.hypot(back[0, 0], back[1, 0])
        return np.column_stack([xy, z]).astype(np.float32)

    def _eye(self, rgb: npt.NDArray[np.uint8], first: FloatArray, second: FloatArray) -> FloatArray:
        """The six iBUG points of one eye from the iris model's eyelid contour: the corners
        ``first`` and ``second`` (mesh points), then the upper lid at 1/3 and 2/3 of the way,
        then the lower lid at 2/3 and 1/3 (the iBUG order, walking round the eye)."""
        self._interpreter(require_loaded(self._model, self.name))  # this thread's models
        eye_input, contour_output = self._local.eye_io
        forward = eye_transform(first, second)
        crop = cv2.warpAffine(rgb, forward, (EYE_SIZE, EYE_SIZE), flags=cv2.INTER_LINEAR)
        eye = self._local.eye
        eye.set_tensor(eye_input, (crop.astype(np.float32) / 255.0)[None])
        eye.invoke()
        contour = np.asarray(eye.get_tensor(contour_output), dtype=np.float64).reshape(-1, 3)
        lower, upper = contour[0:9, :2], contour[9:16, :2]  # corner to corner; first's side first
        x0, x1 = lower[0, 0], lower[8, 0]
        picks = []
        for lid, t in ((upper, 1 / 3), (upper, 2 / 3), (lower, 2 / 3), (lower, 1 / 3)):
            x = x0 + t * (x1 - x0)
            order = np.argsort(lid[:, 0])
            picks.append((x, float(np.interp(x, lid[order, 0], lid[order, 1]))))
        crop_points = np.array([lower[0], *picks[:2], lower[8], *picks[2:]], dtype=np.float64)
        back = cv2.invertAffineTransform(forward)
        return np.asarray(crop_points @ back[:, :2].T + back[:, 2], dtype=np.float32)

    def landmarks(self, image: npt.NDArray[np.uint8], face: Face) -> FloatArray:
        """The 68 points of the iBUG order (:data:`IBUG68_FROM_MESH`), in image pixels, the
        eyes (36-47) from the iris model's eyelid contour (see the module docstring)."""
        rgb = _rgb(image)
        points = self._points(rgb, face)
        points[36:48] = self._eyelids(rgb, points)
        return points

    def locate(self, image: npt.NDArray[np.uint8], face: Face) -> Landmarks:
        """The 68 points as the mesh places them (eyes too) and the head pose solved from
        them against :data:`MESH_FACE`; :meth:`eyelids` refines the eyes."""
        rgb = _rgb(image)
        points = self._points(rgb, face)
        height, width = rgb.shape[:2]
        return Landmarks(points, head_pose(points, (width, height), MESH_FACE))

    def eyelids(self, image: npt.NDArray[np.uint8], points: FloatArray) -> FloatArray:
        """Points 36-47 from the iris model's eyelid contours, each eye's crop placed on its
        corners in ``points`` (mesh vertices 33/133 and 362/263)."""
        return self._eyelids(_rgb(image), points)

    def _points(self, rgb: npt.NDArray[np.uint8], face: Face) -> FloatArray:
        return np.ascontiguousarray(self._mesh(rgb, face)[list(IBUG68_FROM_MESH), :2])

    def _eyelids(self, rgb: npt.NDArray[np.uint8], points: FloatArray) -> FloatArray:
        return np.vstack(
            [self._eye(rgb, points[36], points[39]), self._eye(rgb, points[42], points[45])]
        )
