import numpy as np
import pytest

from realname.engines.base import Face
from realname.errors import MultipleFacesError, NoFaceError
from realname.faces import (
    FaceSearch,
    alignment_view,
    find_faces,
    select_face,
    upsample_factor,
    whole_image_face,
)


def face(x: float, y: float, size: float, score: float) -> Face:
    pts = tuple(
        (x + size * fx, y + size * fy)
        for fx, fy in ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8))
    )
    return Face((x, y, size, size), pts, score)  # type: ignore[arg-type]


SHAPE = (480, 640, 3)


def test_when_no_face_then_no_face_error() -> None:
    with pytest.raises(NoFaceError):
        select_face([], SHAPE)


def test_single_face_is_chosen() -> None:
    only = face(100, 100, 120, 0.9)
    assert select_face([only], SHAPE).face == only


def test_a_clearly_larger_face_dominates() -> None:
    big, small = face(100, 100, 200, 0.9), face(400, 100, 80, 0.92)
    choice = select_face([small, big], SHAPE)
    assert choice.face == big and choice.dominant and choice.face_count == 2


def test_a_printed_photo_held_before_a_half_hidden_face_dominates_by_confidence() -> None:
    photo, hidden = face(200, 150, 140, 0.95), face(180, 60, 180, 0.62)
    assert select_face([hidden, photo], SHAPE).face == photo


def test_when_two_similar_faces_then_multiple_faces_error() -> None:
    with pytest.raises(MultipleFacesError) as info:
        select_face([face(50, 100, 150, 0.9), face(400, 100, 150, 0.9)], SHAPE)
    assert info.value.code == "MULTIPLE_FACES"


def test_central_strategy_breaks_ties_by_position() -> None:
    left, middle = face(20, 100, 150, 0.9), face(250, 160, 140, 0.9)
    choice = select_face([left, middle], SHAPE, strategy="central")
    assert choice.face == middle and not choice.dominant


def test_whole_image_fallback_only_for_tight_portrait_crops() -> None:
    rng = np.random.default_rng(0)
    portrait = rng.integers(0, 255, (126, 102, 3), dtype=np.uint8)
    fallback = whole_image_face(portrait)
    assert fallback is not None and fallback.source == "whole_image_fallback"
    assert whole_image_face(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) is None
    assert whole_image_face(np.full((126, 102, 3), 128, dtype=np.uint8)) is None  # flat


def test_small_images_are_upsampled_and_large_ones_refined(engines, astronaut_face) -> None:  # type: ignore[no-untyped-def]
    import cv2

    chip = cv2.resize(astronaut_face, (102, 128), interpolation=cv2.INTER_AREA)
    faces = find_faces(engines.detector, chip)
    assert len(faces) == 1 and faces[0].source == "detected_upsampled"
    x, y, w, _ = faces[0].box
    assert 0 <= x < 102 and 0 <= y < 128 and w < 102  # back in the chip's own coordinates
    big = cv2.resize(astronaut_face, (960, 1200))
    large = find_faces(engines.detector, big)
    assert len(large) == 1 and large[0].inter_eye_px > 150


class _SizeRecorder:
    """A detector that finds nothing and records the size of every image it is given."""

    name, version = "recorder", "0"

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def load(self) -> None:
        pass

    def detect(self, image: np.ndarray) -> list[Face]:
        self.sizes.append((int(image.shape[1]), int(image.shape[0])))
        return []


def test_enlargement_never_exceeds_the_pixel_bound_whatever_the_input() -> None:
    # A second guard behind the aspect limit of decode_image: a 20,000 x 40 strip was enlarged
    # to 150,000 x 300 (45 megapixels, 4 GB in the detector); now it is not enlarged at all.
    search = FaceSearch()
    bound = 1_000_000  # pixels; the default upsample_max_pixels is half of it
    for width, height in ((20_000, 40), (40, 20_000), (1_000_000, 40), (3_000, 150), (102, 126)):
        strip = np.zeros((height, width, 3), np.uint8)
        factor = upsample_factor(strip.shape, search)
        assert width * height * factor**2 <= max(bound, width * height)
        detector = _SizeRecorder()
        assert find_faces(detector, strip, search) == []
        assert all(w * h <= max(bound, width * height) for w, h in detector.sizes)
        view, _ = alignment_view(strip, face(0, 0, 10, 0.9), search)
        assert view.size <= 3 * max(bound, width * height)
    assert upsample_factor((126, 102, 3), search) == pytest.approx(300 / 102)  # chips as before
