"""A whole registration through HTTP with the real engines and real clips of ../shared/data.

The live clip is a person at a webcam who turns right, left, right and left (headtrackr
capture4, 19.2 s); the ID portrait is cut from its first frame and downscaled to the chip's
102x126, and the uploaded clip is the 11 s the page records, from 0.3 s in (re-encoded in a temp
folder), so the portrait is never one of the frames matched. The service runs in dev mode with
a fixed challenge whose explicit schedule fits the clip's measured actions (clip time, after the
cut: turn right onset 1.52 s, peak 1.91 s; turn left 2.99 s, 3.63 s; turn right 4.72 s, 5.26 s;
turn left 5.99 s, 6.53 s): each prompt at least 0.2 s before its action begins, each peak before
its window's end (the schedule of the browser test, which allows 0.8 s of recording jitter).
liveportrait/d12, used before, shows a real left turn before its first prompt and an open mouth
between two windows, so the prompt-locked rule refuses it (UNPROMPTED_ACTION). The replay is a
phone screen showing a face that turns left (manikantha fake.mp4), challenged with exactly that
action and the policy's fixed schedule (``turn_left@1.00-3.20``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from realname.face.detect import find_faces
from realname.liveness.challenge import parse_challenge
from realname.policy import load_policy
from realname.records.audit import read_export, verify_chain
from realname.service.app import create_app
from tests.conftest import encode
from tests.service.conftest import Clock, Service, make_settings, populate

pytestmark = pytest.mark.data

LIVE = "face_videos/headtrackr/capture4.mp4"
LIVE_CHALLENGE = "turn_right@0.40-2.60,turn_left@1.80-4.00,turn_right@3.50-5.70,turn_left@4.80-7.00"
LIVE_START_S = 0.3
CAPTURE_S = 11.0  # liveness.prompts.capture_s: what the page records
REPLAY = "face_videos/manikantha_liveness/fake.mp4"


def read_frames(path: Path) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


def chip_portrait(frame: np.ndarray, engines) -> bytes:
    """The face cut as an ID photo frames it (head and shoulders top), at 102x126."""
    face = find_faces(engines.detector, frame, load_policy().search)[0]
    x, y, w, h = face.box
    cx, cy = x + w / 2, y + h / 2
    half_w, half_h = 0.8 * w, 0.8 * w * 126 / 102
    height, width = frame.shape[:2]
    x0, y0 = max(0, round(cx - half_w)), max(0, round(cy - 0.55 * 2 * half_h))
    x1, y1 = min(width, round(cx + half_w)), min(height, round(y0 + 2 * half_h))
    chip = cv2.resize(frame[y0:y1, x0:x1], (102, 126), interpolation=cv2.INTER_AREA)
    return encode(chip, ".png")


def write_clip(frames: list[np.ndarray], fps: float, path: Path) -> bytes:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path.read_bytes()


def register(
    tmp_path: Path,
    engines,
    clip_path: Path,
    challenge: str,
    start_s: float,
    keep_s: float | None = None,
) -> tuple[Service, dict[str, Any], dict[str, Any]]:
    frames, fps = read_frames(clip_path)
    portrait = chip_portrait(frames[0], engines)
    skip = round(start_s * fps)
    stop = None if keep_s is None else skip + round(keep_s * fps)
    clip = write_clip(frames[skip:stop], fps, tmp_path / "clip.mp4")
    settings = make_settings(
        f"sqlite:///{tmp_path / 'realname.db'}", dev_mode=True, dev_fixed_challenge=challenge
    )
    app = create_app(settings, clock=Clock(), periodic_tasks=False)
    client = TestClient(app)
    client.__enter__()
    svc = Service(client, app.state.ctx, Clock(), verifier=None)  # type: ignore[arg-type]
    populate(svc.ctx)
    for who in ("clerk_a", "auditor"):
        svc.headers[who] = svc.login(who)
    session = svc.start()
    card = svc.card(session["id"], portrait=portrait)
    assert card.status_code == 200, card.text
    issued = svc.challenge(session["id"]).json()
    fixed = parse_challenge(challenge)
    assert [x["action"] for x in issued["steps"]] == list(fixed.steps), issued
    r = svc.capture(session["id"], issued["nonce"], clip=clip)
    assert r.status_code == 200, r.text
    return svc, session, r.json()


def test_a_live_customer_is_registered_bound_and_audited(
    tmp_path: Path, data_dir: Path, engines
) -> None:
    svc, session, verdict = register(
        tmp_path, engines, data_dir / LIVE, LIVE_CHALLENGE, LIVE_START_S, keep_s=CAPTURE_S + 0.1
    )
    try:
        assert verdict["verdict"] == "passed", verdict
        assert not any("score" in key for key in verdict)  # pass/fail and reasons only
        bound = svc.bind(session["id"], "13812345678")
        assert bound.status_code in (200, 201), bound.text
        listed = svc.client.get(
            "/api/v1/subscriptions",
            params={"session_id": session["id"]},
            headers=svc.headers["clerk_a"],
        )
        assert listed.status_code == 200 and "138****5678" in listed.text, listed.text
        check = svc.client.get("/api/v1/audit/verify", headers=svc.headers["auditor"])
        assert check.status_code == 200 and check.json()["ok"] is True, check.text

        svc.ctx.audit.sign()
        export = tmp_path / "audit.jsonl"
        svc.ctx.audit.export(export)
        entries, heads = read_export(export)
        assert heads
        assert verify_chain(entries, heads, svc.ctx.audit.signing_key.public_key()).ok
        actions = [e.action for e in entries]
        for expected in (
            "session.create",
            "id_card.accepted",
            "challenge.issue",
            "capture.verdict",
            "number.bind",
        ):
            assert expected in actions, (expected, actions)
        verdicts = [e for e in entries if e.action == "capture.verdict"]
        assert verdicts[-1].outcome == "passed", verdicts
    finally:
        svc.client.__exit__(None, None, None)


def test_a_screen_replay_with_the_right_action_fails(
    tmp_path: Path, data_dir: Path, engines
) -> None:
    svc, session, verdict = register(
        tmp_path, engines, data_dir / REPLAY, "turn_left", 0.3
    )  # 3 frames
    try:
        assert verdict["verdict"] == "failed", verdict
        assert verdict["reasons"], verdict
        # Seen here: CHALLENGE_INCOMPLETE, SCREEN_BORDER, GLARE, COLOUR_CAST, MATCH_SKIPPED.
        assert {"SCREEN_BORDER", "MATCH_SKIPPED"} <= set(verdict["reasons"]), verdict
        assert svc.bind(session["id"], "13812345678").status_code == 409
    finally:
        svc.client.__exit__(None, None, None)
