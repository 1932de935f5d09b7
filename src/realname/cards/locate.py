"""Finding ID cards in a photo: each card's quadrilateral, rectified to 856x540.

A card is a light, flat rectangle of the ID-1 ratio (85.6 x 54 mm, 1.585:1), seen at an angle:
its outline is a convex quadrilateral whose sides, once the perspective is undone, keep that
ratio. :func:`find_card_quads` looks for such outlines in edge maps of a reduced copy of the
photo (several edge maps, because a card on a light desk has a faint outline and a card on
clutter a broken one), keeps the plausible ones and drops those inside another.
:func:`rectify` warps one to the upright card frame; which of its two landscape orientations is
the right one (0 or 180 degrees) is decided from the text (:mod:`realname.cards.layout`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from realname.cards.reading import CARD_HEIGHT, CARD_WIDTH, Image, Point

__all__ = ["CardQuad", "find_card_quads", "order_corners", "rectify", "turn_degrees"]

Quad = npt.NDArray[np.float32]  # 4x2: top-left, top-right, bottom-right, bottom-left

_COLOUR = 3  # dimensions of a colour image
_WORK_SIDE = 960  # the long side of the reduced copy searched for outlines
_MIN_AREA = 0.04  # a card smaller than this fraction of the photo is not searched for
_MAX_AREA = 0.98  # an outline this large is the photo's own border
_RATIO = CARD_WIDTH / CARD_HEIGHT
_RATIO_TOLERANCE = 0.22  # |log(ratio / 1.585)|: up to about 25 degrees of tilt either way
_APPROX_EPSILON = 0.01  # approxPolyDP's tolerance step, as a fraction of the perimeter
_APPROX_STEPS = 8
_CORNERS = 4
_QUAD_FILL = 0.9  # a four-corner fit must cover this much of the outline's hull
_RECT_FILL = 0.88  # a hull at least this full of its minimum-area rectangle is a rounded card
_RANKED = 80  # the best outlines compared with each other
_PART = 0.7  # an outline at most this fraction of another's area may be a part of it
_APART = 0.2  # two parts sharing less than this are two cards
_PART_MIN = 0.3
_PART_SUPPORT = 0.85  # a part is a card with edges all round
_PARTS_COVER = 0.75  # two cards fill most of the sheet around them
_INSIDE = 0.8  # a quad with this much of its area inside a kept one is the same card
_SUPPORT_PX = 7  # an outline's side may lie this many pixels (of the reduced copy) off an edge
_SIDE_SAMPLES = 60  # points checked along each side of an outline
_SIDE_MARGIN = 0.08  # the rounded corners are left out
_MIN_SUPPORT = 0.4  # an outline whose weakest side lies on edges less than this is not a card
_BAND_INSET = 0.04  # the band inside the sides, as a fraction of the way to the centre
_BAND_TOLERANCE = 0.25  # a band sample within 25% (+ 12 grey levels) of the band's median
_BAND_SLACK = 12.0
_CLOSE_PX = 11  # wider than a character's stroke in the reduced copy
_MIN_LINE = 0.12  # a side at least this fraction of the reduced photo's short side
_SAME_ANGLE = 3.0  # degrees: two segments on one line
_SAME_RHO = 8.0  # pixels
_MAX_LINES = 12  # the longest lines tried as sides
_PARALLEL = 1e-6
_ALONG_MAX = 30.0  # opposite sides of a card seen at up to 25 degrees of tilt
_ACROSS_MIN = 55.0  # adjacent sides
_OUTSIDE = 0.05  # a corner may lie this far outside the photo (a card cut by the frame)
_CANNY_LOW = 0.66  # Canny thresholds around the image's median grey level
_CANNY_HIGH = 1.33


@dataclass(frozen=True, slots=True)
class CardQuad:
    """A card's outline in the photo (corners in photo pixels, the long side first) and how
    plausible it is: its area fraction, how far its ratio is from ID-1, and how much of its
    four sides lies on edges of the photo (``support``: the weakest side's fraction)."""

    corners: Quad
    area_fraction: float
    ratio_error: float
    support: float = 1.0

    @property
    def score(self) -> float:
        return self.area_fraction * self.support


def order_corners(points: npt.ArrayLike) -> Quad:
    """Four points in clockwise order from the top-left one, then turned so that the first side
    is a long one (the card's top edge in one of its two landscape orientations)."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates (y down)
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    first = np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])
    second = np.linalg.norm(pts[2] - pts[1]) + np.linalg.norm(pts[3] - pts[0])
    if second > first:
        pts = np.roll(pts, -1, axis=0)
    return pts.astype(np.float32)


def _ratio_error(quad: Quad) -> float:
    long_side = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    short_side = (np.linalg.norm(quad[2] - quad[1]) + np.linalg.norm(quad[3] - quad[0])) / 2
    if short_side <= 0:
        return float("inf")
    return float(abs(np.log(long_side / short_side / _RATIO)))


def _edge_maps(grey: Image) -> list[Image]:
    blurred = cv2.GaussianBlur(grey, (5, 5), 0)
    median = float(np.median(blurred))
    low, high = int(max(0, _CANNY_LOW * median)), int(min(255, _CANNY_HIGH * median))
    kernel = np.ones((3, 3), np.uint8)
    maps = [cv2.dilate(cv2.Canny(blurred, low, high), kernel)]
    maps.append(cv2.dilate(cv2.Canny(blurred, 20, 60), kernel))
    # A light card on a dark or busy ground: its bright, low-texture body as one blob.
    _, light = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    maps.append(cv2.morphologyEx(light, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8)))
    # The card's printing closed away (dark strokes on a light card), so that what is left is
    # the card's outline against the ground, not its rows of text.
    shut = cv2.morphologyEx(blurred, cv2.MORPH_CLOSE, np.ones((_CLOSE_PX, _CLOSE_PX), np.uint8))
    maps.append(cv2.Canny(cv2.GaussianBlur(shut, (5, 5), 0), 15, 45))
    return [np.asarray(m, dtype=np.uint8) for m in maps]


def _quad_of(contour: npt.NDArray[np.int32]) -> Quad | None:
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    hull_area = cv2.contourArea(hull)
    for step in range(1, _APPROX_STEPS + 1):  # the loosest fit that still has four corners
        approx = cv2.approxPolyDP(hull, _APPROX_EPSILON * step * perimeter, True)
        if len(approx) < _CORNERS:
            break
        if len(approx) == _CORNERS and cv2.isContourConvex(approx):
            if cv2.contourArea(approx) >= _QUAD_FILL * hull_area:
                return order_corners(approx)
            break
    rect = cv2.minAreaRect(hull)
    rect_area = rect[1][0] * rect[1][1]
    if rect_area > 0 and cv2.contourArea(hull) / rect_area >= _RECT_FILL:
        return order_corners(cv2.boxPoints(rect))
    return None


def _support(quad: Quad, edges: Image) -> float:
    """The fraction of points along the quad's weakest side that lie on an edge pixel."""
    h, w = edges.shape
    fractions = []
    for a, b in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        t = np.linspace(_SIDE_MARGIN, 1 - _SIDE_MARGIN, _SIDE_SAMPLES)[:, None]
        pts = np.rint(a + (b - a) * t).astype(int)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        pts = pts[inside]
        on = edges[pts[:, 1], pts[:, 0]] > 0 if len(pts) else np.zeros(0, bool)
        fractions.append(float(on.sum()) / _SIDE_SAMPLES)
    return min(fractions)


def _lines(edges: Image) -> list[tuple[float, float, float]]:
    """Long straight edges as (angle in degrees mod 180, offset rho, rank), strongest first,
    with near-duplicates (one edge seen at neighbouring angles or offsets) dropped. A line at
    ``angle`` is ``x cos(t) + y sin(t) = rho`` with ``t = angle + 90`` degrees."""
    h, w = edges.shape
    found = cv2.HoughLines(edges, 1, np.pi / 180, threshold=int(_MIN_LINE * min(h, w)))
    kept: list[tuple[float, float, float]] = []
    for rank, (rho, theta) in enumerate([] if found is None else found.reshape(-1, 2)):
        angle = (float(np.degrees(theta)) - 90.0) % 180.0
        t = np.radians(angle + 90.0)
        r = float(rho) if np.cos(t - float(theta)) > 0 else -float(rho)
        if not any(_same_line((angle, r), (a, r2)) for a, r2, _ in kept):
            kept.append((angle, r, float(rank)))
        if len(kept) == _MAX_LINES:
            break
    return kept


def _same_line(a: tuple[float, float], b: tuple[float, float]) -> bool:
    if _angle_between(a[0], b[0]) >= _SAME_ANGLE:
        return False
    flip = np.cos(np.radians(a[0] - b[0])) < 0  # the two straddle 0/180 degrees
    return abs(a[1] - (-b[1] if flip else b[1])) < _SAME_RHO


def _intersect(a: tuple[float, float, float], b: tuple[float, float, float]) -> Point | None:
    ta, tb = np.radians(a[0] + 90.0), np.radians(b[0] + 90.0)
    m = np.array([[np.cos(ta), np.sin(ta)], [np.cos(tb), np.sin(tb)]])
    if abs(np.linalg.det(m)) < _PARALLEL:
        return None
    x, y = np.linalg.solve(m, np.array([a[1], b[1]]))
    return float(x), float(y)


def _line_quads(edges: Image) -> list[Quad]:
    """Quadrilaterals whose sides are two roughly parallel long edges and two others roughly
    across them: a card whose corners are lost (rounded, or touched by clutter)."""
    lines = _lines(edges)
    h, w = edges.shape
    margin = _OUTSIDE * max(h, w)
    quads: list[Quad] = []
    for i, first in enumerate(lines):
        across = [ln for ln in lines if _angle_between(first[0], ln[0]) >= _ACROSS_MIN]
        along = [ln for ln in lines[i + 1 :] if _angle_between(first[0], ln[0]) <= _ALONG_MAX]
        pairs = [
            (third, fourth)
            for j, third in enumerate(across)
            for fourth in across[j + 1 :]
            if _angle_between(third[0], fourth[0]) <= _ALONG_MAX
        ]
        for second in along:
            for third, fourth in pairs:
                corners = [
                    _intersect(first, third),
                    _intersect(first, fourth),
                    _intersect(second, fourth),
                    _intersect(second, third),
                ]
                if any(c is None for c in corners):
                    continue
                pts = np.array(corners, np.float32)
                inside = (pts >= -margin).all() and (pts <= np.array([w, h]) + margin).all()
                if inside and cv2.isContourConvex(pts.reshape(-1, 1, 2)):
                    quads.append(order_corners(pts))
    return quads


def _angle_between(a: float, b: float) -> float:
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


def _candidates(grey: Image) -> list[CardQuad]:
    area = float(grey.shape[0] * grey.shape[1])
    found: list[CardQuad] = []
    maps = _edge_maps(grey)
    kernel7 = np.ones((_SUPPORT_PX, _SUPPORT_PX), np.uint8)
    outline = np.asarray(cv2.dilate(maps[0] | maps[1] | maps[3], kernel7), dtype=np.uint8)
    # The regions between edges too: a card's inside, bounded by its own outline, stays one
    # region when clutter touches the card from outside and merges with the outline itself.
    kernel = np.ones((3, 3), np.uint8)
    regions = [cv2.bitwise_not(m) for m in maps[:2]]
    regions.append(cv2.bitwise_not(cv2.dilate(maps[3], kernel)))
    for edges in (*maps, *regions):
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            fraction = cv2.contourArea(cv2.convexHull(contour)) / area
            if not _MIN_AREA <= fraction <= _MAX_AREA:
                continue
            quad = _quad_of(np.asarray(contour, dtype=np.int32))
            if quad is None:
                continue
            found.extend(_plausible(quad, outline, grey))
    for quad in _line_quads(maps[3]):
        found.extend(_plausible(quad, outline, grey))
    return found


def _inner_fill(quad: Quad, grey: Image) -> float:
    """How much of a band just inside the quad's sides is like the card's own surface (near
    the band's median grey level): near 1 for a card, lower for an outline that cuts across
    the ground (a straight line of clutter taken for a side)."""
    h, w = grey.shape
    centre = quad.mean(axis=0)
    t = np.linspace(_SIDE_MARGIN, 1 - _SIDE_MARGIN, _SIDE_SAMPLES)[:, None]
    pts = np.concatenate(
        [a + (b - a) * t for a, b in zip(quad, np.roll(quad, -1, axis=0), strict=True)]
    )
    pts = pts + (centre - pts) * _BAND_INSET
    xs = np.clip(np.rint(pts[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.rint(pts[:, 1]).astype(int), 0, h - 1)
    values = grey[ys, xs].astype(np.float64)
    median = float(np.median(values))
    return float(np.mean(np.abs(values - median) <= _BAND_TOLERANCE * median + _BAND_SLACK))


def _plausible(quad: Quad, outline: Image, grey: Image) -> list[CardQuad]:
    area = float(grey.shape[0] * grey.shape[1])
    fraction = float(cv2.contourArea(quad) / area)
    if not _MIN_AREA <= fraction <= _MAX_AREA:
        return []
    error = _ratio_error(quad)
    if error > _RATIO_TOLERANCE:
        return []
    support = _support(quad, outline)
    if support < _MIN_SUPPORT:
        return []
    return [CardQuad(quad, fraction, error, support * _inner_fill(quad, grey))]


def _inside(inner: Quad, outer: Quad) -> float:
    """The fraction of ``inner``'s area that lies inside ``outer`` (both convex)."""
    area = cv2.contourArea(inner)
    if area <= 0:
        return 0.0
    common, _ = cv2.intersectConvexConvex(inner, outer)
    return float(common) / float(area)


def _holds_two(outer: CardQuad, ranked: list[CardQuad]) -> bool:
    """Whether ``outer`` is a sheet around two cards (a photocopy of the front above the
    back): two outlines with edges all round, each well inside it and a third to two thirds
    of its area, apart from each other and covering most of it together. The sheet's sides
    lie on the cards' own edges, so it looks like a card itself."""
    parts = [
        q
        for q in ranked
        if _PART_MIN * outer.area_fraction <= q.area_fraction <= _PART * outer.area_fraction
        and q.support >= _PART_SUPPORT
        and _inside(q.corners, outer.corners) > _INSIDE
    ]
    return any(
        _inside(a.corners, b.corners) < _APART
        and a.area_fraction + b.area_fraction >= _PARTS_COVER * outer.area_fraction
        for i, a in enumerate(parts)
        for b in parts[i + 1 :]
    )


def find_card_quads(image: Image, *, limit: int = 4) -> list[CardQuad]:
    """Plausible card outlines in ``image`` (BGR or grey), best first, none inside another."""
    scale = min(1.0, _WORK_SIDE / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = np.asarray(
        cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == _COLOUR else small, np.uint8
    )
    ranked = sorted(_candidates(grey), key=lambda q: q.score, reverse=True)[:_RANKED]
    kept: list[CardQuad] = []
    for cand in ranked:
        if any(
            _inside(cand.corners, k.corners) > _INSIDE or _inside(k.corners, cand.corners) > _INSIDE
            for k in kept
        ):
            continue
        if _holds_two(cand, ranked):
            continue
        kept.append(cand)
        if len(kept) == limit:
            break
    return [CardQuad(k.corners / scale, k.area_fraction, k.ratio_error, k.support) for k in kept]


def rectify(image: Image, corners: Quad, *, turned: bool = False) -> Image:
    """The card inside ``corners`` warped to 856x540; ``turned``: the other landscape
    orientation (the quad's corners taken from the bottom-right)."""
    src = np.roll(corners, -2, axis=0) if turned else corners
    dst = np.array(
        [[0, 0], [CARD_WIDTH - 1, 0], [CARD_WIDTH - 1, CARD_HEIGHT - 1], [0, CARD_HEIGHT - 1]],
        dtype=np.float32,
    )
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    card = cv2.warpPerspective(image, matrix, (CARD_WIDTH, CARD_HEIGHT), flags=cv2.INTER_LINEAR)
    return np.asarray(card, dtype=np.uint8)


def turn_degrees(corners: Quad) -> int:
    """How far the photo has the card turned, clockwise, to the nearest 90 degrees: the
    direction of the card's top edge (top-left to top-right corner)."""
    dx, dy = corners[1] - corners[0]
    angle = float(np.degrees(np.arctan2(dy, dx))) % 360.0
    return int(round(angle / 90.0) % 4) * 90
