"""MediaPipe Face Mesh under LiteRT: the crop, the way back to image pixels, and threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from realname.engines.base import EyeLandmarker
from realname.engines.mesh import (
    IBUG68_FROM_MESH,
    MESH_FACE,
    MeshLandmarker,
    crop_transform,
)
from realname.engines.pose import head_pose


@pytest.fixture(scope="module")
def mesh() -> MeshLandmarker:
    engine = MeshLandmarker()
    engine.load()
    return engine


def test_every_ibug_point_has_its_own_mesh_vertex() -> None:
    assert len(IBUG68_FROM_MESH) == 68 and len(set(IBUG68_FROM_MESH)) == 68
    assert all(0 <= i < 468 for i in IBUG68_FROM_MESH)


def test_the_crop_transform_puts_the_face_centre_in_the_crop_centre(engines, astronaut) -> None:
    face = engines.detector.detect(astronaut)[0]
    x, y, w, h = face.box
    forward = crop_transform(face)
    centre = forward @ np.array([x + w / 2, y + h / 2, 1.0])
    np.testing.assert_allclose(centre, (96, 96), atol=1e-6)
    (rx, ry), (lx, ly) = face.landmarks[:2]
    eyes = forward @ np.array([[rx, ry, 1.0], [lx, ly, 1.0]]).T
    assert abs(eyes[1, 0] - eyes[1, 1]) < 1e-6  # the eye line is horizontal in the crop


def test_the_mesh_follows_a_rotated_face(engines, mesh, astronaut) -> None:
    height, width = astronaut.shape[:2]
    face = engines.detector.detect(astronaut)[0]
    upright = mesh.mesh(astronaut, face)
    assert upright.shape == (468, 3) and np.isfinite(upright).all()
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 25, 1.0)
    rotated = cv2.warpAffine(astronaut, turn, (width, height))
    tilted_face = engines.detector.detect(rotated)[0]
    tilted = mesh.mesh(rotated, tilted_face)
    expected = upright[:, :2] @ turn[:, :2].T + turn[:, 2]
    iod = np.linalg.norm(face.landmarks[0] - np.asarray(face.landmarks[1]))
    error = np.linalg.norm(tilted[:, :2] - expected, axis=1) / iod
    assert np.median(error) < 0.05  # the same points, within 5% of the eye distance


def test_grey_frames_and_threads_give_the_same_points(engines, mesh, astronaut) -> None:
    face = engines.detector.detect(astronaut)[0]
    one = mesh.landmarks(astronaut, face)
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda _: mesh.landmarks(astronaut, face), range(6)))
    for points in runs:
        np.testing.assert_allclose(points, one, atol=1e-3)
    grey = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    iod = np.linalg.norm(one[36:42].mean(axis=0) - one[42:48].mean(axis=0))
    assert np.median(np.linalg.norm(mesh.landmarks(grey, face) - one, axis=1)) < 0.05 * iod


# The iBUG points' mirror images (image-left, image-right) among the 26 of MESH_FACE.
_MIRROR = {17: 26, 18: 25, 19: 24, 20: 23, 21: 22, 31: 35, 32: 34, 36: 45, 39: 42, 48: 54}


def test_the_mesh_face_is_the_astronaut_mesh_turned_to_the_camera(engines, mesh, astronaut) -> None:
    """Derive MESH_FACE again (see its comment in realname.engines.mesh)."""
    face = engines.detector.detect(astronaut)[0]
    points = mesh.mesh(astronaut, face).astype(np.float64)[list(IBUG68_FROM_MESH)]
    chords = np.array([points[b] - points[a] for a, b in _MIRROR.items()])
    across = (chords / np.linalg.norm(chords, axis=1, keepdims=True)).mean(axis=0)
    across /= np.linalg.norm(across)
    up = points[27] - points[8]
    up -= (up @ across) * across
    up /= np.linalg.norm(up)
    frame = np.stack([across, up, np.cross(across, up)])  # x right, y up, z toward the camera
    local = (points - points[30]) @ frame.T
    for a, b in _MIRROR.items():
        local[a], local[b] = (
            (local[a] + local[b] * (-1, 1, 1)) / 2,
            (local[b] + local[a] * (-1, 1, 1)) / 2,
        )
    local *= 86.6 / np.linalg.norm(local[36] - local[45])
    midline = [i for i in MESH_FACE.ids if i not in _MIRROR and i not in _MIRROR.values()]
    local[midline, 0] = 0.0
    np.testing.assert_allclose(local[list(MESH_FACE.ids)], MESH_FACE.points, atol=2.0)


def _turned(points: np.ndarray, yaw: float) -> np.ndarray:
    """The mesh turned rigidly to the person's left by ``yaw`` degrees (image axes: x right,
    y down, z away), seen straight on (the mesh's own depth; x and y kept)."""
    y = np.radians(yaw)
    about_y = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    centre = points.mean(axis=0)
    return (points - centre) @ about_y.T + centre


@pytest.mark.parametrize("yaw", [-40, -25, -12, 12, 25, 40])
def test_the_mesh_face_reads_a_rigid_turn(engines, mesh, astronaut, yaw) -> None:
    face = engines.detector.detect(astronaut)[0]
    points = mesh.mesh(astronaut, face).astype(np.float64)
    size = astronaut.shape[1::-1]
    picks = list(IBUG68_FROM_MESH)
    before = head_pose(points[picks, :2].astype(np.float32), size, MESH_FACE)[0]
    turned = _turned(points, yaw)[picks, :2].astype(np.float32)
    after = head_pose(turned, size, MESH_FACE)[0]
    assert after - before == pytest.approx(yaw, rel=0.2)


def test_locate_gives_the_meshs_own_points_and_pose_and_eyelids_refines_the_eyes(
    engines, mesh, astronaut
) -> None:
    face = engines.detector.detect(astronaut)[0]
    engine: object = mesh  # narrowed below without losing the mesh's own methods
    assert isinstance(engine, EyeLandmarker)
    found = mesh.locate(astronaut, face)
    own = mesh.mesh(astronaut, face)[list(IBUG68_FROM_MESH), :2]
    np.testing.assert_allclose(found.points, own, atol=1e-4)  # eyes too: the mesh's vertices
    size = astronaut.shape[1::-1]
    assert found.pose == pytest.approx(head_pose(own, size, MESH_FACE))
    lids = mesh.eyelids(astronaut, found.points)
    assert lids.shape == (12, 2) and np.isfinite(lids).all()
    # the eye model places its own corners and lids near the mesh's (its crop sits on the
    # mesh's corners), but not on them: pose is solved from the mesh's, on every frame alike
    iod = float(np.linalg.norm(own[36:42].mean(axis=0) - own[42:48].mean(axis=0)))
    assert np.linalg.norm(lids - own[36:48], axis=1).max() < 0.1 * iod
    assert not np.allclose(lids, own[36:48], atol=0.2)
    refined = mesh.landmarks(astronaut, face)
    np.testing.assert_allclose(refined[36:48], lids, atol=1e-4)
    rest = list(range(36)) + list(range(48, 68))
    np.testing.assert_allclose(refined[rest], own[rest], atol=1e-4)
