from dataclasses import replace

import cv2
import numpy as np
import pytest

from realname.engines import Engines
from realname.engines.base import FaceDetector, FaceEmbedder
from realname.errors import ImageCorruptError, MultipleFacesError, NoFaceError
from realname.face.match import FACE_MISMATCH, match_faces
from realname.policy import load_policy
from tests.conftest import encode
from tests.fakes import FakeDetector, FakeEmbedder, fake_image


@pytest.fixture()
def fake_engines() -> Engines:
    return Engines(FakeDetector(), FakeEmbedder())


@pytest.fixture()
def fake_policy():
    policy = load_policy()
    sface = policy.engines["sface"]
    return replace(
        policy,
        engines={"fake-embedder": replace(sface, engine="fake-embedder")},
        search=replace(policy.search, refine=False),
    )


def test_fakes_implement_the_engine_protocols() -> None:
    assert isinstance(FakeDetector(), FaceDetector)
    assert isinstance(FakeEmbedder(), FaceEmbedder)


def test_same_identity_matches_and_explains_itself(fake_engines, fake_policy) -> None:
    result = match_faces(fake_image(3), [fake_image(3)], fake_engines, fake_policy)
    assert result.passed and result.decision == "match"
    assert result.score == pytest.approx(1.0)
    assert result.threshold == fake_policy.operating_point("fake-embedder").threshold
    assert result.fmr_target == "1e-4" and result.engine == "fake-embedder"
    assert result.policy_version == fake_policy.version
    assert set(result.timings_ms) == {
        "reference_detection",
        "probe_detection",
        "embedding",
        "total",
    }


def test_a_mismatch_is_a_result_not_an_exception(fake_engines, fake_policy) -> None:
    result = match_faces(fake_image(3), [fake_image(4)], fake_engines, fake_policy)
    assert not result.passed and result.decision == "no_match"
    assert FACE_MISMATCH in result.reasons


def test_probes_without_a_face_are_skipped_and_recorded(fake_engines, fake_policy) -> None:
    probes = [fake_image(0), fake_image(3), fake_image(3, faces=2)]
    result = match_faces(fake_image(3), probes, fake_engines, fake_policy)
    assert result.passed
    assert result.probes_used == (1,)
    assert result.probes[0].reasons == ("NO_FACE",)
    assert result.probes[2].reasons == ("MULTIPLE_FACES",)


def test_only_the_best_probes_are_fused(fake_engines, fake_policy) -> None:
    probes = [fake_image(3, score=s) for s in (60, 99, 70, 95, 97)]
    result = match_faces(fake_image(3), probes, fake_engines, fake_policy)
    assert sorted(result.probes_used) == [1, 3, 4]  # the three most confident


def test_when_reference_has_no_face_then_no_face_error(fake_engines, fake_policy) -> None:
    with pytest.raises(NoFaceError):
        match_faces(fake_image(0), [fake_image(3)], fake_engines, fake_policy)


def test_when_no_probe_has_a_face_then_no_face_error(fake_engines, fake_policy) -> None:
    with pytest.raises(NoFaceError):
        match_faces(fake_image(3), [fake_image(0), fake_image(0)], fake_engines, fake_policy)


# --- the real engines on packaged images -------------------------------------------------


def test_chip_portrait_matches_live_frames_of_the_same_person(
    engines, policy, astronaut, astronaut_face
) -> None:
    from realname.evaluation.datasets import to_chip

    chip = to_chip(astronaut_face)
    assert chip.shape == (126, 102, 3)
    frames = [
        cv2.convertScaleAbs(astronaut, alpha=a, beta=b) for a, b in ((1, 0), (0.8, 15), (1.2, -10))
    ]
    result = match_faces(encode(chip, ".png"), [encode(f) for f in frames], engines, policy)
    assert result.passed, result
    assert result.reference_face.source == "detected_upsampled"
    assert len(result.probes_used) == 3
    assert result.score > result.threshold


def test_a_different_face_does_not_match(engines, policy, astronaut) -> None:
    from skimage import data

    other = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    result = match_faces(astronaut, [other], engines, policy)
    assert not result.passed
    assert FACE_MISMATCH in result.reasons


def test_when_reference_shows_no_face_then_no_face_error(
    engines, policy, coffee, astronaut
) -> None:
    with pytest.raises(NoFaceError) as info:
        match_faces(encode(coffee), [astronaut], engines, policy)
    assert info.value.context["role"] == "reference"


def test_when_reference_shows_two_equal_faces_then_multiple_faces_error(
    engines, policy, astronaut_face, astronaut
) -> None:
    pair = np.hstack([astronaut_face, cv2.flip(astronaut_face, 1)])
    with pytest.raises(MultipleFacesError):
        match_faces(pair, [astronaut], engines, policy)


def test_when_one_face_dominates_the_reference_it_is_used(
    engines, policy, astronaut_face, astronaut
) -> None:
    canvas = np.full((300, 480, 3), 90, dtype=np.uint8)
    canvas[:, :240] = astronaut_face
    small = cv2.resize(astronaut_face, (96, 120))
    canvas[150:270, 330:426] = small
    result = match_faces(canvas, [astronaut], engines, policy)
    assert result.passed
    assert result.reference_face.box[0] < 240  # the large face on the left
    assert "REFERENCE_MULTIPLE_FACES" in result.reasons


def _held_photo(astronaut_face: np.ndarray, photo_width: int, face_width: int) -> np.ndarray:
    """A printed photo (the astronaut, sharp) beside a face whose eyes are covered."""
    canvas = np.full((480, 640, 3), 90, dtype=np.uint8)
    photo = cv2.resize(astronaut_face, (photo_width, round(photo_width * 1.25)))
    face = cv2.resize(astronaut_face, (face_width, round(face_width * 1.25)))
    face[int(0.28 * face.shape[0]) : int(0.42 * face.shape[0])] = 60
    canvas[100 : 100 + photo.shape[0], 30 : 30 + photo_width] = photo
    canvas[100 : 100 + face.shape[0], 380 : 380 + face_width] = face
    return canvas


def test_when_the_second_reference_face_is_covered_then_the_clean_one_is_matched(
    engines, policy, astronaut_face, astronaut
) -> None:
    result = match_faces(_held_photo(astronaut_face, 180, 160), [astronaut], engines, policy)
    assert result.passed, result.reasons
    assert result.reference_face.centre[0] < 320  # the clean photo on the left


def test_when_the_covered_reference_face_is_the_larger_then_multiple_faces_error(
    engines, policy, astronaut_face, astronaut
) -> None:
    with pytest.raises(MultipleFacesError) as info:
        match_faces(_held_photo(astronaut_face, 120, 240), [astronaut], engines, policy)
    assert info.value.context["role"] == "reference"


def test_when_reference_file_is_truncated_then_corrupt_error(engines, policy, astronaut) -> None:
    data = encode(astronaut)
    with pytest.raises(ImageCorruptError):
        match_faces(data[:5000], [astronaut], engines, policy)


def test_result_serialises_to_json(engines, policy, astronaut) -> None:
    import json

    result = match_faces(astronaut, [astronaut], engines, policy)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["decision"] == "match" and payload["probes_used"] == [0]
    assert payload["reference_quality"]["inter_eye_px"] > 40
