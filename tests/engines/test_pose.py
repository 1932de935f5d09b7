import numpy as np

from realname.engines.pose import eye_aspect_ratios, head_pose, mouth_aspect_ratio


def test_pose_signs_on_the_astronaut(engines, astronaut) -> None:
    import cv2

    face = engines.detector.detect(astronaut)[0]
    points = engines.landmarker.landmarks(astronaut, face)
    yaw, _pitch, roll = head_pose(points, (512, 512))
    assert abs(yaw) < 12 and abs(roll) < 8
    h, w = astronaut.shape[:2]
    rotated = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((w / 2, h / 3), 15, 1.0), (w, h))
    f2 = engines.detector.detect(rotated)[0]
    _, _, roll2 = head_pose(engines.landmarker.landmarks(rotated, f2), (512, 512))
    assert roll2 < roll - 10  # rotating the image counter-clockwise reads as negative roll


def test_nose_moved_toward_the_image_right_reads_as_positive_yaw(engines, astronaut) -> None:
    face = engines.detector.detect(astronaut)[0]
    points = engines.landmarker.landmarks(astronaut, face).copy()
    base_yaw, _, _ = head_pose(points, (512, 512))
    width = float(np.ptp(points[:, 0]))
    points[27:36, 0] += 0.12 * width  # the nose shifts right: the person turns to their left
    assert head_pose(points, (512, 512))[0] > base_yaw + 8


def test_eye_and_mouth_openness(engines, astronaut) -> None:
    face = engines.detector.detect(astronaut)[0]
    points = engines.landmarker.landmarks(astronaut, face)
    left, right = eye_aspect_ratios(points)
    assert 0.15 < left < 0.5 and 0.15 < right < 0.5
    closed = points.copy()
    for a, b in ((37, 41), (38, 40), (43, 47), (44, 46)):
        mid = (closed[a] + closed[b]) / 2
        closed[a] = closed[b] = mid
    assert max(eye_aspect_ratios(closed)) < 0.02
    assert mouth_aspect_ratio(points) < 0.2
