"""Image geometry the engines and the stages share: the ArcFace template warp and box clamping."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines.base import Face

__all__ = [
    "ARCFACE_SIZE",
    "ARCFACE_TEMPLATE",
    "clamp_box",
    "similarity_transform",
    "warp_to_template",
]

#: The side of the ArcFace / SFace crop (pixels): the size the template below is drawn in.
ARCFACE_SIZE = 112

#: Where the 5 points go in a 112x112 crop (the ArcFace / SFace template).
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(
    src: npt.NDArray[np.float64], dst: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The 2x3 least-squares similarity mapping ``src`` onto ``dst`` (Umeyama, 1991)."""
    n = src.shape[0]
    mean_src, mean_dst = src.mean(axis=0), dst.mean(axis=0)
    centred_src, centred_dst = src - mean_src, dst - mean_dst
    cov = centred_dst.T @ centred_src / n
    u, singular, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(cov) < 0:
        d[1, 1] = -1
    rotation = u @ d @ vt
    scale = float((singular * np.diag(d)).sum() / ((centred_src**2).sum() / n))
    out = np.zeros((2, 3))
    out[:, :2] = scale * rotation
    out[:, 2] = mean_dst - scale * rotation @ mean_src
    return out


def warp_to_template(
    image: npt.NDArray[np.uint8], face: Face, border_mode: int = cv2.BORDER_CONSTANT
) -> npt.NDArray[np.uint8]:
    """The ``ARCFACE_SIZE`` square crop with ``face``'s 5 points warped onto the ArcFace template
    (least-squares similarity, bilinear), outside the image filled by ``border_mode``."""
    matrix = similarity_transform(np.asarray(face.landmarks, dtype=np.float64), ARCFACE_TEMPLATE)
    size = (ARCFACE_SIZE, ARCFACE_SIZE)
    return np.asarray(cv2.warpAffine(image, matrix, size, borderMode=border_mode), dtype=np.uint8)


def clamp_box(
    left: float, top: float, right: float, bottom: float, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """The pixel bounds ``x0, y0, x1, y1`` (``image[y0:y1, x0:x1]``) of a box given by its
    edges, rounded and clamped to an image of ``shape``; empty (``x1 <= x0`` or ``y1 <= y0``)
    when the box lies outside it."""
    height, width = shape[:2]
    x0, y0 = max(0, round(left)), max(0, round(top))
    x1, y1 = min(width, round(right)), min(height, round(bottom))
    return x0, y0, x1, y1
