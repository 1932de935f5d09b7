from dataclasses import replace

import numpy as np
import pytest

from realname.engines.base import Face
from realname.errors import MultipleFacesError, NoFaceError
from realname.face.detect import (
    alignment_view,
    find_faces,
    select_face,
    upsample_factor,
    whole_image_face,
)
from realname.policy import load_policy

SEARCH = load_policy().search  # the shipped policy's face search


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
    fallback = whole_image_face(portrait, SEARCH)
    assert fallback is not None and fallback.source == "whole_image_fallback"
    assert whole_image_face(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), SEARCH) is None
    assert whole_image_face(np.full((126, 102, 3), 128, dtype=np.uint8), SEARCH) is None  # flat


def test_small_images_are_upsampled_and_large_ones_refined(engines, astronaut_face) -> None:
    import cv2

    chip = cv2.resize(astronaut_face, (102, 128), interpolation=cv2.INTER_AREA)
    faces = find_faces(engines.detector, chip, SEARCH)
    assert len(faces) == 1 and faces[0].source == "detected_upsampled"
    x, y, w, _ = faces[0].box
    assert 0 <= x < 102 and 0 <= y < 128 and w < 102  # back in the chip's own coordinates
    big = cv2.resize(astronaut_face, (960, 1200))
    large = find_faces(engines.detector, big, SEARCH)
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
    search = SEARCH
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


# --- several faces in a reference: defects decide, or the reference is refused -------------


def _defects_of(table: dict[int, tuple[str, ...]]):
    return lambda f: table[id(f)]


def test_a_face_without_defects_and_larger_is_chosen_over_a_turned_one() -> None:
    clean, turned = face(50, 100, 150, 0.9), face(400, 100, 130, 0.9)  # old rule: a tie
    defects = _defects_of({id(clean): (), id(turned): ("POSE_YAW",)})
    with pytest.raises(MultipleFacesError):
        select_face([turned, clean], SHAPE)
    choice = select_face([turned, clean], SHAPE, defects=defects)
    assert choice.face == clean and choice.resolution == "fewer_defects"


def test_when_the_defective_face_is_the_larger_then_the_reference_is_refused() -> None:
    # The blind evaluation's fault: the holder's half-hidden face, twice the size of the photo,
    # dominated by size and was chosen. Now the reference is refused instead.
    photo, hidden = face(250, 200, 120, 0.93), face(150, 40, 200, 0.9)
    assert select_face([hidden, photo], SHAPE).face == hidden  # without defects: the old rule
    defects = _defects_of({id(photo): (), id(hidden): ("EYES_NOT_VISIBLE", "FACE_OCCLUDED")})
    with pytest.raises(MultipleFacesError) as info:
        select_face([hidden, photo], SHAPE, defects=defects)
    assert info.value.code == "MULTIPLE_FACES"
    # The "central" convention of evaluation decides as it did without defects.
    assert select_face([hidden, photo], SHAPE, strategy="central", defects=defects).face == hidden


def test_faces_with_equal_defects_fall_back_to_dominance() -> None:
    big, small = face(100, 100, 200, 0.9), face(400, 100, 80, 0.92)
    defects = _defects_of({id(big): ("FACE_BLURRY",), id(small): ("FACE_BLURRY",)})
    choice = select_face([small, big], SHAPE, defects=defects)
    assert choice.face == big and choice.resolution == "dominant"
    assert select_face([big], SHAPE, defects=defects).resolution == "single"


def _two_heads(head: np.ndarray, left_width: int, right: np.ndarray) -> np.ndarray:
    """A 640x480 grey canvas with the astronaut's head ``left_width`` px wide on the left and
    ``right`` (another, altered copy) on the right."""
    import cv2

    canvas = np.full((480, 640, 3), 90, np.uint8)
    left = cv2.resize(head, (left_width, round(left_width * 1.25)), interpolation=cv2.INTER_AREA)
    canvas[100 : 100 + left.shape[0], 30 : 30 + left.shape[1]] = left
    canvas[100 : 100 + right.shape[0], 380 : 380 + right.shape[1]] = right
    return canvas


def _head(head: np.ndarray, width: int, *, blur: float = 0.0, cover_eyes: bool = False):
    import cv2

    out = cv2.resize(head, (width, round(width * 1.25)), interpolation=cv2.INTER_AREA)
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if cover_eyes:  # a grey band across the eyes, as a hand or a held photo would cover them
        out[int(0.28 * out.shape[0]) : int(0.42 * out.shape[0])] = 60
    return np.ascontiguousarray(out)


@pytest.mark.parametrize(
    "altered",
    [{"blur": 3.3}, {"cover_eyes": True}],
    ids=["blurred", "eyes_covered"],
)
def test_when_the_other_face_is_blurred_or_covered_then_the_clean_one_is_chosen(
    engines, policy, astronaut_face, altered
) -> None:
    from realname.face.match import locate_face

    image = _two_heads(astronaut_face, 180, _head(astronaut_face, 160, **altered))
    faces = find_faces(engines.detector, image, policy.search)
    assert len(faces) == 2
    with pytest.raises(MultipleFacesError):  # comparable by size and confidence
        select_face(faces, image.shape)
    located = locate_face(image, engines, policy, role="reference")
    assert located.choice.resolution == "fewer_defects"
    assert located.face.centre[0] < 320  # the clean face on the left
    assert located.face.inter_eye_px > 30


def test_when_the_blurred_face_is_much_larger_then_the_reference_is_refused(
    engines, policy, astronaut_face
) -> None:
    from realname.face.match import locate_face

    image = _two_heads(astronaut_face, 120, _head(astronaut_face, 220, blur=4.6))
    faces = find_faces(engines.detector, image, policy.search)
    assert len(faces) == 2
    assert select_face(faces, image.shape).face.centre[0] > 320  # the old rule: the blurred one
    with pytest.raises(MultipleFacesError):
        locate_face(image, engines, policy, role="reference")


def test_small_tilted_faces_get_their_points_found_again(engines, policy, astronaut) -> None:
    import cv2

    from realname.face.detect import refine_landmarks

    upright = find_faces(engines.detector, astronaut, policy.search)[0]
    matrix = cv2.getRotationMatrix2D((256, 256), 25, 0.35)  # 25 degrees, a face 32 px wide
    tilted = np.asarray(
        cv2.warpAffine(astronaut, matrix, (512, 512), borderMode=cv2.BORDER_REPLICATE),
        dtype=np.uint8,
    )
    truth = np.asarray(upright.landmarks) @ matrix[:, :2].T + matrix[:, 2]
    found = max(find_faces(engines.detector, tilted, policy.search), key=lambda f: f.score)
    refined = refine_landmarks(engines.detector, tilted, found, policy.search)
    eyes = float(np.hypot(*(truth[1] - truth[0])))
    before = float(np.abs(np.asarray(found.landmarks) - truth).max()) / eyes
    after = float(np.abs(np.asarray(refined.landmarks) - truth).max()) / eyes
    assert after < 0.75 * before
    assert refined.box == found.box and refined.score == found.score


def test_large_upright_faces_keep_their_points(engines, policy, astronaut_face) -> None:
    import cv2

    from realname.face.detect import refine_landmarks

    big = cv2.resize(astronaut_face, (480, 600))
    found = find_faces(engines.detector, big, policy.search)[0]
    assert refine_landmarks(engines.detector, big, found, policy.search) is found
    off = replace(policy.search, landmark_face_px=0)
    small = cv2.resize(astronaut_face, (120, 150))
    face_small = find_faces(engines.detector, small, off)[0]
    assert refine_landmarks(engines.detector, small, face_small, off) is face_small
