"""Passive presentation-attack checks: each returns a :class:`Check` with its score and threshold.

* ``three_d_structure``: while the head turns, a real face's landmarks move in a way no single
  plane explains; a printed photo or a screen is flat, so one homography maps the frontal
  frame's landmarks onto every turned frame. Score: the residual of the best homography, as a
  fraction of the inter-eye distance (median of the three worst turned frames).
* ``screen_border``: the straight edges of a phone or monitor around the face: long vertical
  lines on both sides of the face (or horizontal ones above and below), found in most frames.
* ``glare``: specular glare on the face (pixels at 245 or above), which a glossy phone screen or
  photo throws back and skin seldom does under counter lighting.
* ``temporal``: frozen or duplicated frames, and jumps no head makes between two frames.
* Recapture statistics of the face, each the median over frames:
  ``moire``: the strongest periodic peak of the face's spectrum above the spectrum's own radial
  trend (a screen's pixel grid beating with the camera's, away from the codec's 8-px grid);
  ``colour``: the spread of red chroma (Cr) inside the face, which a glossy phone screen widens
  with saturated highlights and colour casts that skin under one light does not show;
  ``banding``: empty grey levels inside the face's range (the comb a low bit-depth screen or a
  re-quantised picture leaves in the histogram).
* Measured only, not in the liveness check (``realname eval passive``: none gained anything
  cross-validated without a live false rejection): ``tone_levels`` (black level and tonal range
  of an emissive screen), ``static_overlay`` (player controls fixed over moving video),
  ``depth_flatness`` (a background as sharp as the face), ``frame_jumps`` (a replay of crops).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines.base import Face
from realname.engines.geometry import clamp_box
from realname.liveness.signals import FrameSignals, SignalTrack
from realname.policy import PassivePolicy

__all__ = [
    "Check",
    "banding",
    "colour_spread",
    "depth_flatness",
    "face_crops",
    "frame_jumps",
    "glare",
    "moire",
    "moire_peak",
    "screen_border",
    "static_overlay",
    "temporal_sanity",
    "three_d_structure",
    "tone_levels",
]

Image = npt.NDArray[np.uint8]
# Rigid-ish points: jaw contour, brows, nose, eyes (the mouth deforms when talking).
_RIGID = np.r_[0:48]
# Fewest frames a check can judge: a homography needs a frontal frame and turned ones, a frozen
# run or a jump needs frames on both sides of it.
_MIN_FRAMES = 3
# Fewest pixels a side of a face crop worth measuring (texture, spectrum, sharpness) has.
_MIN_CROP_PX = 16


@dataclass(frozen=True, slots=True)
class Check:
    """One check's verdict. ``applicable`` False: the clip gave nothing to judge (the check then
    passes, and says so)."""

    name: str
    score: float
    threshold: float
    passed: bool
    applicable: bool = True
    detail: str = ""


def _at_most(name: str, score: float, threshold: float, detail: str) -> Check:
    """A check that passes when ``score`` is at most ``threshold``."""
    return Check(name, round(score, 4), threshold, bool(score <= threshold), True, detail)


def _inter_eye(points: npt.NDArray[np.float32]) -> float:
    left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    return float(np.hypot(*(right - left))) or 1.0


def _rms(a: npt.NDArray[np.float64], b: npt.NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))))


def deformation(ref: npt.NDArray[np.float32], tgt: npt.NDArray[np.float32]) -> tuple[float, float]:
    """How far ``tgt`` is from ``ref`` beyond a similarity (a change of view), and beyond the best
    homography (a plane seen from another angle), both over the inter-eye distance."""
    scale = _inter_eye(tgt)
    sim: Any = cv2.estimateAffinePartial2D(ref, tgt)[0]
    if sim is None:
        return float("nan"), float("nan")
    by_sim = np.asarray(ref.astype(np.float64) @ sim[:, :2].T + sim[:, 2], dtype=np.float64)
    hom: Any = cv2.findHomography(ref, tgt, 0)[0]
    if hom is None:
        return _rms(by_sim, tgt) / scale, float("nan")
    by_hom = np.asarray(
        cv2.perspectiveTransform(ref.reshape(-1, 1, 2).astype(np.float64), hom), dtype=np.float64
    ).reshape(-1, 2)
    return _rms(by_sim, tgt) / scale, _rms(by_hom, tgt) / scale


def three_d_structure(track: SignalTrack, base_yaw: float, policy: PassivePolicy) -> Check:
    """The most frontal frame against every frame turned by ``min_turn_deg`` or more from it.

    A flat photo cannot pass the turn steps at all: tilting a card changes the apparent yaw by a
    few degrees only (no nose parallax), so this check has nothing to judge there and the missing
    turn fails the challenge. What it adds: a screen or mask that *does* show a turn must also
    show landmark motion that no plane explains."""
    faces = [(f, f.landmarks) for f in track.frames if f.face_found and f.landmarks is not None]
    name, threshold = "three_d_structure", policy.max_planar_residual
    if len(faces) < _MIN_FRAMES:
        return Check(name, float("nan"), threshold, True, False, "too few frames with a face")
    ref, ref_points = min(faces, key=lambda fp: abs(fp[0].yaw - base_yaw))
    turned = [p for f, p in faces if abs(f.yaw - ref.yaw) >= policy.min_turn_deg]
    if not turned:
        return Check(name, float("nan"), threshold, True, False, "the head never turned")
    residuals = sorted(
        (deformation(ref_points[_RIGID], t[_RIGID])[1] for t in turned), reverse=True
    )
    score = float(np.median(residuals[:3]))
    return Check(
        name,
        round(score, 4),
        threshold,
        bool(score >= threshold),
        True,
        f"{len(turned)} turned frames against the frontal frame at {ref.t:.2f} s",
    )


def _enclosed(image: Image, face: Face, policy: PassivePolicy) -> bool:
    x, y, w, h = face.box
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(gray, (3, 3), 0), 30, 90)
    lines = cv2.HoughLinesP(
        edges,
        1,
        np.pi / 180,
        threshold=40,
        minLineLength=int(policy.border_line_frac * h),
        maxLineGap=10,
    )
    if lines is None:
        return False
    sides: set[str] = set()
    for x1, y1, x2, y2 in np.asarray(lines).reshape(-1, 4):
        dx, dy = float(x2 - x1), float(y2 - y1)
        length = float(np.hypot(dx, dy))
        # Near-vertical lines beside the face rows; horizontal edges (letterboxed video, shelves)
        # were tried and rejected: they fired on live clips.
        if abs(dx) < 0.15 * length and min(y1, y2) < y + h and max(y1, y2) > y:
            xm = (x1 + x2) / 2
            if x - 1.6 * w < xm < x - 0.05 * w:
                sides.add("left")
            elif x + 1.05 * w < xm < x + 2.6 * w:
                sides.add("right")
    return {"left", "right"} <= sides


def screen_border(
    frames: Sequence[Image], track: SignalTrack, policy: PassivePolicy, every: int = 3
) -> Check:
    looked = [
        (f.index, f.face) for f in track.frames[::every] if f.face_found and f.face is not None
    ]
    name, threshold = "screen_border", policy.max_border_fraction
    if not looked:
        return Check(name, float("nan"), threshold, True, False, "no face to look around")
    enclosed = sum(_enclosed(frames[index], face, policy) for index, face in looked)
    detail = f"{enclosed} of {len(looked)} frames show straight edges enclosing the face"
    return _at_most(name, enclosed / len(looked), threshold, detail)


def glare(
    frames: Sequence[Image], track: SignalTrack, policy: PassivePolicy, every: int = 3
) -> Check:
    """Median over frames of the share of face-box pixels at ``policy.glare_grey_level`` (245)
    or above."""
    values = [
        float(np.mean(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY) >= policy.glare_grey_level))
        for c in face_crops(frames, track, every)
    ]
    return _median_check(
        "glare",
        values,
        policy.max_glare_fraction,
        "share of glare pixels on the face",
        "no face to look at",
    )


def _anchor(frame: FrameSignals, face: Face) -> npt.NDArray[np.float64]:
    """Where the face is, for the jump test: the middle of the eyes and the nose (27-47) when
    the frame has landmarks, else its box centre. The landmarker places these points the same
    way on every frame, while the box comes from the detector on some frames and from the last
    points on others (a tracking landmarker): at a turned head the two boxes' centres differ by
    up to 0.4 face widths, 6.8 widths a second between two frames at 15 fps (headtrackr/capture4
    zoomed as in the browser test, 2026-12-01), which read as an impossible jump."""
    if frame.landmarks is not None:
        return np.asarray(frame.landmarks[27:48].mean(axis=0), dtype=np.float64)
    return np.asarray(face.centre, dtype=np.float64)


def _longest_frozen_s(frames: Sequence[Image], track: SignalTrack, policy: PassivePolicy) -> float:
    """The longest run of consecutive identical frames (seconds); see :func:`temporal_sanity`."""
    small = [
        cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), (64, 48), interpolation=cv2.INTER_AREA)
        for f in frames
    ]
    times = [f.t for f in track.frames]
    longest = run_start = 0.0
    in_run = False
    for i, (prev_img, img) in enumerate(itertools.pairwise(small), start=1):
        diff = np.abs(prev_img.astype(np.int16) - img.astype(np.int16))
        same = float(np.mean(diff)) < policy.frozen_max_mean_diff
        if same and not in_run:
            run_start, in_run = times[i - 1], True
        if in_run:
            longest = max(longest, times[i] - run_start)
        if not same:
            in_run = False
    return longest


def _count_jumps(track: SignalTrack, policy: PassivePolicy) -> int:
    """Moves of the face between two frames faster than ``policy.max_jump_per_s``.

    The time between two frames is never taken as shorter than the clip's own median frame
    interval (the rate that arrived): a browser's timestamps jitter, and on a loaded PC one
    frame came 57 ms after the last where the camera delivers one every 67 ms, which turned a
    fast genuine head turn (0.49 face widths in one camera interval, 7.3 widths/s) into 8.5
    widths/s, over the 8 of the policy (headtrackr/capture4 recorded by chromium under load,
    2026-12-03). The content of two frames is at least one camera interval apart; a longer
    gap (a dropped frame) keeps its own, longer, time."""
    jumps = 0
    faces = [(f, f.face) for f in track.frames if f.face_found and f.face is not None]
    gaps = [b.t - a.t for (a, _), (b, _) in itertools.pairwise(faces) if b.t > a.t]
    interval = float(np.median(gaps)) if gaps else 0.0
    for (before, before_face), (after, after_face) in itertools.pairwise(faces):
        dt = after.t - before.t
        if dt <= 0:
            continue
        dt = max(dt, interval)
        dist = float(np.hypot(*(_anchor(after, after_face) - _anchor(before, before_face))))
        if dist / max(before_face.box[2], 1.0) / dt > policy.max_jump_per_s:
            jumps += 1
    return jumps


def temporal_sanity(frames: Sequence[Image], track: SignalTrack, policy: PassivePolicy) -> Check:
    """A frozen picture (consecutive frames identical for ``max_frozen_s`` or longer: a still
    image fed to the camera) and jumps of the face no head makes between two frames.

    Identical means a mean absolute difference under ``policy.frozen_max_mean_diff`` (0.05)
    grey levels at 64x48: a still person
    in a still room, or a clip with duplicated frames, still differs by sensor noise and
    compression (a first version that flagged differences under 0.3 failed 10 of 76 live clips).
    """
    name = "temporal"
    if len(frames) < _MIN_FRAMES:
        return Check(name, float("nan"), policy.max_frozen_s, True, False, "too few frames")
    longest = _longest_frozen_s(frames, track, policy)
    jumps = _count_jumps(track, policy)
    passed = longest < policy.max_frozen_s and jumps == 0
    return Check(
        name,
        round(longest, 3),
        policy.max_frozen_s,
        passed,
        True,
        f"longest frozen run {longest:.2f} s; {jumps} jumps faster than "
        f"{policy.max_jump_per_s} face widths/s",
    )


def face_crops(
    frames: Sequence[Image], track: SignalTrack, every: int = 3, inner: float = 0.0
) -> list[Image]:
    """The face box of every ``every``-th frame with a face (shrunk by ``inner`` on each side)."""
    crops = []
    for f in track.frames[::every]:
        if not f.face_found or f.face is None:
            continue
        x, y, w, h = f.face.box
        x, y, w, h = x + inner * w, y + inner * h, w * (1 - 2 * inner), h * (1 - 2 * inner)
        x0, y0, x1, y1 = clamp_box(x, y, x + w, y + h, frames[f.index].shape)
        if x1 - x0 >= _MIN_CROP_PX and y1 - y0 >= _MIN_CROP_PX:
            crops.append(frames[f.index][y0:y1, x0:x1])
    return crops


_MOIRE_SIZE = 64
# The high band searched for a screen's grid, in cycles per pixel: above the face's own
# structure and up to Nyquist (0.5). Part of the cue's definition, measured with it (the
# threshold on the cue is PassivePolicy.max_moire_peak).
_MOIRE_BAND = (0.18, 0.5)


def _moire_masks(n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.fftfreq(n)[None, :]
    radius = np.hypot(fx, fy)
    near = 1.5 / n
    # Exclude the axes (edges of the face and the frame) and the harmonics of 8-px codec blocks.
    excluded = (np.abs(fx) < near) | (np.abs(fy) < near)
    for k in range(1, 5):
        excluded |= (np.abs(np.abs(fx) - k / 8) < near) | (np.abs(np.abs(fy) - k / 8) < near)
    low, high = _MOIRE_BAND
    band = (radius > low) & (radius < high) & ~excluded
    return np.round(radius * n).astype(np.int64).ravel(), band.ravel()


_RINGS, _BAND = _moire_masks(_MOIRE_SIZE)
_RING_SIZE = np.bincount(_RINGS)
_RING_START = np.concatenate([[0], np.cumsum(_RING_SIZE)[:-1]])


def _ring_medians(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The median of ``values`` over each frequency ring, for every element (one sort)."""
    ordered = values[np.lexsort((values, _RINGS))]
    low = ordered[_RING_START + (_RING_SIZE - 1) // 2]
    high = ordered[_RING_START + _RING_SIZE // 2]
    return np.asarray(((low + high) / 2)[_RINGS], dtype=np.float64)


def moire_peak(gray: npt.NDArray[Any]) -> float:
    """Strongest periodic peak of a grey patch's spectrum (natural log of its ratio to the median
    of its frequency ring), in the high band; the centre ``_MOIRE_SIZE`` px at native resolution,
    never resampled (resampling would smooth the very aliasing it looks for). NaN if too small."""
    n = _MOIRE_SIZE
    height, width = gray.shape[:2]
    if height < n or width < n:
        return float("nan")
    top, left = (height - n) // 2, (width - n) // 2
    patch = gray[top : top + n, left : left + n].astype(np.float64)
    patch -= patch.mean()
    window = np.outer(np.hanning(n), np.hanning(n))
    log_mag = np.log(np.abs(np.fft.fft2(patch * window)) + 1e-6).ravel()
    return float((log_mag - _ring_medians(log_mag))[_BAND].max())


def _median_check(
    name: str, values: list[float], threshold: float, detail: str, missing: str
) -> Check:
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return Check(name, float("nan"), threshold, True, False, missing)
    score = float(np.median(finite))
    return _at_most(name, score, threshold, f"{detail} (median of {len(finite)} frames)")


def moire(
    frames: Sequence[Image], track: SignalTrack, policy: PassivePolicy, every: int = 3
) -> Check:
    values = [
        moire_peak(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY)) for c in face_crops(frames, track, every)
    ]
    return _median_check(
        "moire",
        values,
        policy.max_moire_peak,
        "strongest periodic peak of the face spectrum over its ring's median (log)",
        f"no face of {_MOIRE_SIZE} px or more",
    )


def colour_spread(
    frames: Sequence[Image], track: SignalTrack, policy: PassivePolicy, every: int = 3
) -> Check:
    values = [
        float(cv2.cvtColor(c, cv2.COLOR_BGR2YCrCb)[:, :, 1].std())
        for c in face_crops(frames, track, every, inner=0.2)
    ]
    return _median_check(
        "colour",
        values,
        policy.max_chroma_spread,
        "spread (std) of red chroma inside the face",
        "no face to look at",
    )


_MIN_TONAL_RANGE = 16  # grey levels between the 1st and 99th percentiles: less is a flat patch


def banding(
    frames: Sequence[Image], track: SignalTrack, policy: PassivePolicy, every: int = 3
) -> Check:
    values = []
    for crop in face_crops(frames, track, every):
        gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        low, high = (int(v) for v in np.percentile(gray, [1, 99]))
        if high - low < _MIN_TONAL_RANGE:  # a flat patch has no histogram to judge
            continue
        counts = np.bincount(gray.ravel(), minlength=256)[low : high + 1]
        values.append(float(np.mean(counts == 0)))
    return _median_check(
        "banding",
        values,
        policy.max_banding,
        "share of empty grey levels within the face's range",
        "no face with a tonal range",
    )


# Cues for a screen that fills the frame (issue 10), measured by ``realname eval passive``: each
# a score of the whole clip, with no threshold here (see :mod:`realname.evaluation.passive_cv`).
_SMALL_WIDTH = 160  # the frames are compared at this width: codec noise and sub-pixel motion fade
# static_overlay's definitions (a measured cue with no threshold and no verdict; see its
# docstring): an edge pixel's gradient, the share of frames that make a pixel an edge and a
# fixed one, the edge pixels a strip needs, and the fewest frames.
_OVERLAY_GRADIENT = 80.0
_OVERLAY_EDGE_SHARE, _OVERLAY_FIXED_SHARE = 0.2, 0.8
_OVERLAY_MIN_EDGES = 20
_OVERLAY_MIN_FRAMES = 4
_MIN_PAIR = 2  # frame_jumps compares consecutive frames: two at least


def _small_greys(frames: Sequence[Image], every: int) -> tuple[list[npt.NDArray[np.uint8]], float]:
    picked = list(frames[::every])
    if not picked:
        return [], 1.0
    height, width = picked[0].shape[:2]
    scale = _SMALL_WIDTH / width
    size = (_SMALL_WIDTH, max(8, round(height * scale)))
    greys = [
        np.asarray(
            cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), size, interpolation=cv2.INTER_AREA),
            dtype=np.uint8,
        )
        for f in picked
    ]
    return greys, scale


def tone_levels(frames: Sequence[Image], every: int = 3) -> tuple[float, float]:
    """The black level and the tonal range of the whole frame: medians over frames of the 2nd
    percentile of grey and of the 98th minus the 2nd. An emissive screen filmed again lifts its
    blacks (backlight, reflections) and compresses the range; a real scene has deep shadows."""
    greys, _ = _small_greys(frames, every)
    if not greys:
        return float("nan"), float("nan")
    levels = np.asarray([np.percentile(g, [2, 98]) for g in greys], dtype=np.float64)
    return float(np.median(levels[:, 0])), float(np.median(levels[:, 1] - levels[:, 0]))


def _face_mask(
    track: SignalTrack, shape: tuple[int, int], scale: float, grow: float
) -> npt.NDArray[np.bool_]:
    """Every pixel (at the small scale) that a face box, grown by ``grow`` on each side, ever
    covered: the face and the head's motion are left out of the background."""
    mask = np.zeros(shape, dtype=bool)
    for f in track.frames:
        if f.face is None:
            continue
        x, y, w, h = (v * scale for v in f.face.box)
        x0, y0 = max(0, int(x - grow * w)), max(0, int(y - grow * h))
        x1, y1 = int(x + w + grow * w) + 1, int(y + h + grow * h) + 1
        mask[y0:y1, x0:x1] = True
    return mask


def static_overlay(frames: Sequence[Image], track: SignalTrack, every: int = 3) -> float:
    """A player's controls or captions laid over a replayed video stay fixed in the image while
    the scene under them moves. An edge pixel here is one whose gradient (at 160 px wide)
    exceeds 80 in at least 20% of the frames, outside every face box grown by half its size; it
    is *fixed* if it is an edge in at least 80% of them (a moving edge visits a pixel now and
    then; a semi-transparent bar over moving video still keeps its own edges). The frame is cut
    into 12 horizontal strips: the score is the largest fixed share among the top 2 and bottom
    4 strips, minus the fixed share of the middle strips. A still camera gives about 0 or less
    (everything fixed), a hand-held one about 0 (nothing fixed), an overlay on moving content
    up to 1. NaN: fewer than 4 frames, or no strip or middle with 20 edge pixels."""
    greys, scale = _small_greys(frames, every)
    if len(greys) < _OVERLAY_MIN_FRAMES:
        return float("nan")
    strong = np.stack(
        [
            np.hypot(
                cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
            )
            > _OVERLAY_GRADIENT
            for g in greys
        ]
    ).mean(axis=0)
    edges = (strong >= _OVERLAY_EDGE_SHARE) & ~_face_mask(track, strong.shape, scale, 0.5)
    fixed = strong >= _OVERLAY_FIXED_SHARE
    height = strong.shape[0]
    cuts = [round(i * height / 12) for i in range(13)]

    def share(top: int, bottom: int) -> float:
        part = edges[cuts[top] : cuts[bottom]]
        if part.sum() < _OVERLAY_MIN_EDGES:
            return float("nan")
        return float(fixed[cuts[top] : cuts[bottom]][part].mean())

    shares = [v for i in (0, 1, 8, 9, 10, 11) if np.isfinite(v := share(i, i + 1))]
    middle = share(2, 8)
    if not shares or not np.isfinite(middle):
        return float("nan")
    return max(shares) - middle


def depth_flatness(frames: Sequence[Image], track: SignalTrack, every: int = 3) -> float:
    """A flat scene is as sharp behind the face as on it. Median over frames of the Laplacian
    variance of the background (outside the face box grown by half its size) over that of the
    face box, at native resolution. A real scene close to the camera usually has a softer
    background; a screen or a photo in focus has one focal plane. NaN without background."""
    ratios = []
    for f in track.frames[::every]:
        if f.face is None:
            continue
        gray = cv2.cvtColor(frames[f.index], cv2.COLOR_BGR2GRAY)
        x, y, w, h = f.face.box
        x0, y0, x1, y1 = clamp_box(x, y, x + w, y + h, gray.shape)
        if x1 - x0 < _MIN_CROP_PX or y1 - y0 < _MIN_CROP_PX:
            continue
        lap = cv2.Laplacian(gray, cv2.CV_32F)
        mask = np.ones(gray.shape, dtype=bool)
        gx0, gy0 = max(0, round(x - 0.5 * w)), max(0, round(y - 0.5 * h))
        mask[gy0 : round(y + 1.5 * h), gx0 : round(x + 1.5 * w)] = False
        if mask.sum() < 0.1 * mask.size:
            continue
        face_var = float(lap[y0:y1, x0:x1].var())
        if face_var > 0:
            ratios.append(float(lap[mask].var()) / face_var)
    return float(np.median(ratios)) if ratios else float("nan")


def frame_jumps(frames: Sequence[Image], track: SignalTrack) -> float:
    """A replayed sequence of face crops jumps from frame to frame: each crop is cut around the
    face at another moment, so the surroundings change while the face stays put. Median over
    consecutive frames of the mean absolute grey difference outside the face boxes (at 160 px
    wide) per second, over the face-centre motion in face widths per second plus 0.1. NaN
    without two frames with a face."""
    greys, scale = _small_greys(frames, 1)
    faces = {f.index: f for f in track.frames if f.face is not None}
    if len(greys) < _MIN_PAIR or len(faces) < _MIN_PAIR:
        return float("nan")
    outside = ~_face_mask(track, greys[0].shape, scale, 0.2)
    if outside.sum() < 0.05 * outside.size:
        outside = np.ones(greys[0].shape, dtype=bool)
    ratios = []
    for (i, a), (j, b) in itertools.pairwise(sorted(faces.items())):
        dt = b.t - a.t
        if dt <= 0 or a.face is None or b.face is None:
            continue
        diff = np.abs(greys[j].astype(np.float32) - greys[i].astype(np.float32))[outside]
        moved = np.hypot(b.face.centre[0] - a.face.centre[0], b.face.centre[1] - a.face.centre[1])
        speed = float(moved) / max(a.face.box[2], 1.0) / dt
        ratios.append(float(diff.mean()) / dt / (speed + 0.1))
    return float(np.median(ratios)) if ratios else float("nan")
