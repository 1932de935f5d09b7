"""FACE_OCCLUDED on the astronaut: clean, then with a mask, sunglasses or a skin-coloured patch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from realname.engines.base import Face
from realname.face.match import match_faces
from realname.face.occlusion import measure_occlusion
from realname.face.quality import QualityReason, assess_quality, canonical_crop
from realname.policy import load_policy


def _points(face: Face) -> dict[str, np.ndarray]:
    eye_l, eye_r, nose, mouth_l, mouth_r = face.landmark_array().astype(np.float64)
    return {"eye_l": eye_l, "eye_r": eye_r, "nose": nose, "mouth_l": mouth_l, "mouth_r": mouth_r}


def with_mask(image: np.ndarray, face: Face, colour: tuple[int, int, int]) -> np.ndarray:
    """A mask from just below the nose tip to under the chin, cheek to cheek."""
    p = _points(face)
    eye = np.linalg.norm(p["eye_r"] - p["eye_l"])
    top = p["nose"][1] + 0.1 * eye
    left, right = p["eye_l"][0] - 0.6 * eye, p["eye_r"][0] + 0.6 * eye
    chin = p["mouth_l"][1] + 0.9 * eye
    outline = np.array(
        [
            (left, top),
            (right, top),
            (right, chin - 0.3 * eye),
            (p["nose"][0], chin),
            (left, chin - 0.3 * eye),
        ],
        np.int32,
    )
    out = image.copy()
    cv2.fillPoly(out, [outline], colour)
    return out


def with_band(image: np.ndarray, face: Face, colour: tuple[int, int, int]) -> np.ndarray:
    """A band over both eyes, like wrap-around sunglasses."""
    p = _points(face)
    eye = np.linalg.norm(p["eye_r"] - p["eye_l"])
    y = (p["eye_l"][1] + p["eye_r"][1]) / 2
    x0, x1 = p["eye_l"][0] - 0.55 * eye, p["eye_r"][0] + 0.55 * eye
    out = image.copy()
    cv2.rectangle(out, (int(x0), int(y - 0.3 * eye)), (int(x1), int(y + 0.3 * eye)), colour, -1)
    return out


def with_skin_patch(image: np.ndarray, face: Face) -> np.ndarray:
    """A smooth patch of the face's own cheek colour over the mouth (a hand)."""
    p = _points(face)
    eye = np.linalg.norm(p["eye_r"] - p["eye_l"])
    skin = canonical_crop(image, face)[62:82, 22:40].reshape(-1, 3).mean(axis=0)
    centre = (p["mouth_l"] + p["mouth_r"]) / 2
    out = image.copy()
    axes = (int(0.9 * eye), int(0.45 * eye))
    cv2.ellipse(out, (int(centre[0]), int(centre[1])), axes, 0, 0, 360, skin.tolist(), -1)
    return cv2.GaussianBlur(out, (3, 3), 0)


@pytest.fixture(scope="module")
def face(astronaut, engines) -> Face:
    return engines.detector.detect(astronaut)[0]


def test_the_uncovered_astronaut_is_not_occluded(astronaut, face) -> None:
    quality = assess_quality(astronaut, face, load_policy().quality)
    assert QualityReason.FACE_OCCLUDED not in quality.reasons
    assert quality.occlusion is not None and quality.occluded_cues == ()


@pytest.mark.parametrize("colour", [(225, 195, 150), (235, 235, 235), (35, 35, 35)])
def test_a_mask_over_the_lower_face_is_occluded(astronaut, face, colour) -> None:
    quality = assess_quality(with_mask(astronaut, face, colour), face, load_policy().quality)
    assert QualityReason.FACE_OCCLUDED in quality.reasons
    assert {"mouth_structure", "mouth_to_eyes"} & set(quality.occluded_cues)


@pytest.mark.parametrize("colour", [(20, 20, 20), (30, 45, 60)])
def test_a_dark_band_over_the_eyes_is_occluded(astronaut, face, colour) -> None:
    quality = assess_quality(with_band(astronaut, face, colour), face, load_policy().quality)
    assert QualityReason.FACE_OCCLUDED in quality.reasons
    assert any(c.startswith("eye_") for c in quality.occluded_cues)


def test_a_skin_coloured_patch_over_the_mouth_is_occluded(astronaut, face) -> None:
    quality = assess_quality(with_skin_patch(astronaut, face), face, load_policy().quality)
    assert QualityReason.FACE_OCCLUDED in quality.reasons


def test_the_mask_is_found_when_the_face_is_detected_again(astronaut, engines) -> None:
    face = engines.detector.detect(astronaut)[0]
    masked = with_mask(astronaut, face, (225, 195, 150))
    again = engines.detector.detect(masked)[0]
    assert (
        QualityReason.FACE_OCCLUDED in assess_quality(masked, again, load_policy().quality).reasons
    )


def test_a_strongly_turned_face_is_not_judged_for_occlusion() -> None:
    pts = ((100.0, 100.0), (160.0, 100.0), (175.0, 135.0), (110.0, 170.0), (150.0, 170.0))
    turned = Face((60, 40, 160, 180), pts, 0.9)  # nose far to one side: a strong yaw
    image = np.full((300, 300, 3), 128, np.uint8)
    quality = assess_quality(image, turned, load_policy().quality)
    assert QualityReason.POSE_YAW in quality.reasons
    assert quality.occlusion is None and QualityReason.FACE_OCCLUDED not in quality.reasons


def test_the_cues_are_ratios_that_do_not_depend_on_exposure(astronaut, face) -> None:
    gray = cv2.cvtColor(canonical_crop(astronaut, face), cv2.COLOR_BGR2GRAY)
    darker = (gray.astype(np.float32) * 0.6).astype(np.uint8)
    a, b = measure_occlusion(gray), measure_occlusion(darker)
    assert b.eye_structure == pytest.approx(a.eye_structure, rel=0.1)
    assert b.mouth_to_eyes == pytest.approx(a.mouth_to_eyes, rel=0.1)


def test_a_covered_reference_fails_the_match_whatever_the_score(astronaut, face, engines) -> None:
    masked = with_mask(astronaut, face, (225, 195, 150))
    result = match_faces(masked, [astronaut], engines, load_policy())
    assert not result.passed
    assert "REFERENCE_FACE_OCCLUDED" in result.reasons
    assert "FACE_MISMATCH" not in result.reasons  # the same face: the score alone would pass


def test_covered_probes_are_used_only_when_no_other_is(astronaut, face, engines) -> None:
    masked = with_mask(astronaut, face, (225, 195, 150))
    mixed = match_faces(astronaut, [masked, astronaut], engines, load_policy())
    assert mixed.passed and mixed.probes_used == (1,)
    covered = match_faces(astronaut, [masked], engines, load_policy())
    assert not covered.passed
    assert {"PROBE_QUALITY_LOW", "PROBE_FACE_OCCLUDED"} <= set(covered.reasons)
