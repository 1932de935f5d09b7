import cv2
import numpy as np
import pytest

from realname.engines.base import Face
from realname.face.quality import QualityReason, assess_quality, estimate_pose
from realname.policy import load_policy

# A frontal face as YuNet places its points (nose tip 0.563 of the way from eyes to mouth).
TEMPLATE = ((38.29, 51.70), (73.53, 51.50), (56.03, 74.50), (41.55, 92.37), (70.73, 92.20))


def scaled_face(offset_nose_x: float = 0.0, scale: float = 3.0) -> Face:
    pts = [(x * scale + 100, y * scale + 50) for x, y in TEMPLATE]
    pts[2] = (pts[2][0] + offset_nose_x, pts[2][1])
    return Face((100, 50, 112 * scale, 112 * scale), tuple(pts), 0.95)  # type: ignore[arg-type]


def test_frontal_landmarks_give_near_zero_pose() -> None:
    yaw, pitch, roll = estimate_pose(scaled_face())
    assert abs(yaw) < 2 and abs(pitch) < 3 and abs(roll) < 1


def test_nose_toward_the_image_right_is_a_turn_to_the_persons_left() -> None:
    yaw, _, _ = estimate_pose(scaled_face(offset_nose_x=40))
    assert yaw > 20
    yaw, _, _ = estimate_pose(scaled_face(offset_nose_x=-40))
    assert yaw < -20


def test_good_face_passes_and_each_defect_has_its_code(astronaut, engines) -> None:
    policy = load_policy().quality
    face = engines.detector.detect(astronaut)[0]
    good = assess_quality(astronaut, face, policy)
    assert good.acceptable, good.reasons

    blurred = cv2.GaussianBlur(astronaut, (0, 0), 6)
    assert QualityReason.FACE_BLURRY in assess_quality(blurred, face, policy).reasons

    dark = (astronaut * 0.15).astype(np.uint8)
    assert QualityReason.FACE_TOO_DARK in assess_quality(dark, face, policy).reasons

    bright = cv2.convertScaleAbs(astronaut, alpha=1.0, beta=160)
    reasons = assess_quality(bright, face, policy).reasons
    assert QualityReason.FACE_TOO_BRIGHT in reasons or QualityReason.FACE_CLIPPED in reasons

    small = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    small_face = engines.detector.detect(cv2.resize(small, (384, 384)))[0].scaled(1 / 3)
    assert QualityReason.FACE_TOO_SMALL in assess_quality(small, small_face, policy).reasons

    masked = astronaut.copy()
    pts = face.landmark_array()
    for x, y in pts[:2]:
        cv2.rectangle(
            masked, (int(x) - 22, int(y) - 12), (int(x) + 22, int(y) + 12), (20, 20, 20), -1
        )
    assert QualityReason.EYES_NOT_VISIBLE in assess_quality(masked, face, policy).reasons

    assert (
        QualityReason.MULTIPLE_FACES
        in assess_quality(astronaut, face, policy, face_count=2).reasons
    )


def test_rolled_landmarks_are_reported_as_roll() -> None:
    face = scaled_face()
    centre = np.array([200.0, 200.0])
    angle = np.radians(30)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = tuple(tuple(map(float, rot @ (np.array(p) - centre) + centre)) for p in face.landmarks)
    rolled = Face(face.box, pts, 0.9)  # type: ignore[arg-type]
    yaw, pitch, roll = estimate_pose(rolled)
    assert roll == pytest.approx(30, abs=1)
    assert abs(yaw) < 3 and abs(pitch) < 4  # measured in the face's own frame
    image = np.full((600, 600, 3), 128, dtype=np.uint8)
    quality = assess_quality(image, rolled, load_policy().quality)
    assert QualityReason.POSE_ROLL in quality.reasons
