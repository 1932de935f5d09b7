"""The printed portrait on the card's front, cropped from the rectified side.

The photo is printed right of the fields, 26 x 32 mm, from about 55.5 mm to 81.5 mm across and
6 mm to 38 mm down an upright 85.6 x 54 mm card. The crop takes that region with a margin (a
card rectified from a tilted photo may be a few millimetres off), so the face is inside it; the
matcher finds the face within the crop as it does in a chip portrait. A printed photo is a
reference of lower quality than the chip's (halftone print, lamination glare): it is marked as
such wherever it is used (``portrait_source`` ``printed``).
"""

from __future__ import annotations

from realname.cards.reading import CARD_HEIGHT, CARD_WIDTH, Image

__all__ = ["PORTRAIT_REGION", "crop_portrait"]

#: (left, top, right, bottom) of the crop as fractions of the rectified card's width and height.
PORTRAIT_REGION = (0.615, 0.06, 0.975, 0.79)


def crop_portrait(card: Image) -> Image:
    """The printed portrait region of an upright, rectified front (856x540), copied."""
    left, top, right, bottom = PORTRAIT_REGION
    h, w = card.shape[:2]
    if (w, h) != (CARD_WIDTH, CARD_HEIGHT):
        raise ValueError(f"expected a rectified card of {CARD_WIDTH}x{CARD_HEIGHT}, got {w}x{h}")
    return card[int(top * h) : int(bottom * h), int(left * w) : int(right * w)].copy()
