"""check_liveness and verify_identity end to end on a clip made from a packaged photo."""

from __future__ import annotations

import dataclasses
import json
import time

import cv2
import numpy as np
import pytest

from realname.errors import CaptureTimeoutError
from realname.evaluation.datasets import to_chip
from realname.liveness.actions import ActionEvent, detect_actions
from realname.liveness.challenge import parse_challenge
from realname.liveness.check import LivenessReason, check_liveness
from realname.media.video import frames_clip
from realname.verify import MATCH_SKIPPED, verify_identity
from tests.fakes import SlowDetector


@pytest.fixture(scope="module")
def still_clip(astronaut):
    """3 s at 15 fps of the astronaut photo, moved a little (a person holding still)."""
    frames, times = [], []
    for i in range(45):
        matrix = cv2.getRotationMatrix2D((256, 200), 2 * np.sin(i / 6), 1.0)
        matrix[0, 2] += 4 * np.sin(i / 5)
        moved = cv2.warpAffine(astronaut, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)
        frames.append(np.asarray(cv2.resize(moved, (640, 480)), dtype=np.uint8))
        times.append(i / 15)
    return frames_clip(frames, times)


def test_a_clip_without_the_challenged_actions_fails_with_its_reason(
    engines, policy, still_clip
) -> None:
    report = check_liveness(still_clip, parse_challenge("blink,turn_left"), engines, policy)
    assert not report.passed
    assert LivenessReason.CHALLENGE_INCOMPLETE in report.reasons
    assert [s.seen_at_s for s in report.steps] == [None, None]
    assert report.checks["face_presence"].passed
    payload = json.loads(json.dumps(report.to_dict()))
    assert set(payload["checks"]["same_person"]) >= {"score", "threshold", "passed"}


def test_passive_checks_pass_a_steady_face_with_no_challenge(engines, policy, still_clip) -> None:
    report = check_liveness(still_clip, parse_challenge(""), engines, policy)
    assert report.passed, report.reasons
    assert report.checks["same_person"].score > 0.8
    assert not report.checks["three_d_structure"].applicable  # the head never turned
    assert len(report.best_frames) == 3
    assert report.track is not None and len(report.track.frames) == 45


def test_a_jerked_camera_is_no_head_turn(engines, policy, astronaut) -> None:
    """An attacker who jerks a phone with a photo up, down and sideways (60 px between two
    frames, the head bob that the mesh's own tracking once read as a 28-degree turn) must not
    fake a turn or a nod."""
    frames, times = [], []
    shifts = [(0, 0)] * 10 + [(0, 60), (40, 60), (-40, 0), (0, -60), (60, 30)] * 4 + [(0, 0)] * 10
    for i, (dx, dy) in enumerate(shifts):
        moved = cv2.warpAffine(
            astronaut,
            np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32),
            (512, 512),
            borderMode=cv2.BORDER_REFLECT,
        )
        frames.append(np.asarray(cv2.resize(moved, (640, 480)), dtype=np.uint8))
        times.append(i / 15)
    report = check_liveness(frames_clip(frames, times), parse_challenge(""), engines, policy)
    assert report.track is not None and report.track.face_fraction == 1.0
    assert [e.action for e in report.actions if e.action != "blink"] == []
    assert LivenessReason.TEMPORAL_ANOMALY in report.reasons  # the jumps themselves are refused


def test_a_frozen_picture_is_a_temporal_anomaly(engines, policy, astronaut) -> None:
    frame = np.asarray(cv2.resize(astronaut, (640, 480)), dtype=np.uint8)
    clip = frames_clip([frame] * 30, [i / 15 for i in range(30)])
    report = check_liveness(clip, parse_challenge(""), engines, policy)
    assert LivenessReason.TEMPORAL_ANOMALY in report.reasons


def test_verify_matches_only_after_liveness_passed(
    engines, policy, still_clip, astronaut_face
) -> None:
    portrait = to_chip(astronaut_face)
    good = verify_identity(portrait, still_clip, parse_challenge(""), engines, policy)
    assert good.passed and good.match is not None and good.match.passed
    bad = verify_identity(portrait, still_clip, parse_challenge("blink"), engines, policy)
    assert not bad.passed and bad.match is None
    assert MATCH_SKIPPED in bad.reasons
    assert bad.to_dict()["match"] is None


def test_when_the_deadline_passes_then_judging_stops_between_frames(
    engines, policy, still_clip, astronaut_face
) -> None:
    slow = dataclasses.replace(engines, detector=SlowDetector(engines.detector))
    challenge = parse_challenge("blink")
    start = time.monotonic()
    with pytest.raises(CaptureTimeoutError) as info:  # 45 frames would take over 2 s
        check_liveness(still_clip, challenge, slow, policy, deadline=start + 0.3)
    assert time.monotonic() - start < 1.0
    assert info.value.context["stage"] == "analysing the frames"
    portrait = cv2.imencode(".png", cv2.resize(astronaut_face, (102, 126)))[1].tobytes()
    with pytest.raises(CaptureTimeoutError):
        verify_identity(portrait, still_clip, challenge, engines, policy, deadline=start - 1.0)


def test_a_scheduled_challenge_is_judged_by_its_prompts_and_unprompted_actions_fail(
    engines, policy, still_clip, monkeypatch
) -> None:
    import realname.liveness.check

    real = detect_actions
    turn = ActionEvent("turn_left", 0.8, 1.4, 1.1, 20.0)
    nod = ActionEvent("nod", 2.0, 2.5, 2.2, 15.0)
    challenge = parse_challenge("turn_left@0.50-2.70")
    for events, reasons in (([turn], ()), ([turn, nod], (LivenessReason.UNPROMPTED_ACTION,))):
        monkeypatch.setattr(
            realname.liveness.check,
            "detect_actions",
            lambda track, p, ev=events: (tuple(ev), real(track, p)[1]),
        )
        report = check_liveness(still_clip, challenge, engines, policy)
        assert report.reasons == reasons
        step = report.to_dict()["steps"][0]
        assert step["prompt_s"] == 0.5 and step["window_end_s"] == 2.7
        assert step["reaction_s"] == pytest.approx(0.3)
    assert [e.action for e in report.unprompted] == ["nod"]


def test_the_supervisor_plot_explains_each_step_without_pyplot(
    engines, policy, still_clip, monkeypatch
) -> None:
    import sys

    import realname.liveness.check
    from realname.liveness.plot import render_liveness_png

    real = detect_actions
    events = (
        ActionEvent("turn_left", 0.8, 1.4, 1.1, 20.0),
        ActionEvent("nod", 2.0, 2.5, 2.2, 15.0),
    )
    monkeypatch.setattr(
        realname.liveness.check, "detect_actions", lambda track, p: (events, real(track, p)[1])
    )
    challenge = parse_challenge("turn_left@0.50-2.70")
    report = check_liveness(still_clip, challenge, engines, policy)
    assert report.steps[0].explain() == (
        "turn_left: prompt 0.50 s, window to 2.70 s; began 0.80 s (reaction 0.30 s), peaked 1.10 s"
    )
    png = render_liveness_png(report, title="capture")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "matplotlib.pyplot" not in sys.modules
    unseen = check_liveness(still_clip, parse_challenge("blink@0.50-2.70"), engines, policy)
    assert unseen.steps[0].explain() == (
        "blink: prompt 0.50 s, window to 2.70 s; not seen (STEP_NOT_SEEN: no blink movement)"
    )
