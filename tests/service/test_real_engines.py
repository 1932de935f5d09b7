"""The app with the real engines (loaded at start-up) on a synthetic clip: decoded in memory,
judged by the library, answered without scores."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from realname.errors import CaptureTimeoutError
from realname.liveness.challenge import parse_challenge
from realname.media.image import ImageLimits
from realname.media.video import VideoLimits
from realname.service.app import create_app
from realname.service.verification import CaptureJob, EngineVerifier
from tests.conftest import encode
from tests.fakes import SlowDetector
from tests.service.conftest import Clock, Service, make_settings, populate


def test_a_still_picture_fails_the_fixed_challenge_with_the_real_engines(
    tmp_path: Path, astronaut: np.ndarray, astronaut_face: np.ndarray
) -> None:
    video = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (640, 480))
    for i in range(45):
        matrix = cv2.getRotationMatrix2D((256, 200), 2 * np.sin(i / 6), 1.0)
        writer.write(cv2.resize(cv2.warpAffine(astronaut, matrix, (512, 512)), (640, 480)))
    writer.release()
    settings = make_settings(
        f"sqlite:///{tmp_path / 'real.db'}",
        dev_mode=True,
        dev_fixed_challenge="turn_left@0.20-1.20,blink@1.30-2.30",  # fits the 3 s clip
    )
    app = create_app(settings, clock=Clock(), periodic_tasks=False)
    with TestClient(app) as client:
        assert client.get("/readyz").json()["models_loaded"] is True
        svc = Service(client, app.state.ctx, Clock(), verifier=None)  # type: ignore[arg-type]
        populate(svc.ctx)
        svc.headers["clerk_a"] = svc.login("clerk_a")
        s = svc.start()
        portrait = encode(cv2.resize(astronaut_face, (102, 126)), ".png")
        assert svc.card(s["id"], portrait=portrait).status_code == 200
        challenge = svc.challenge(s["id"]).json()
        assert [(x["action"], x["prompt_s"], x["window_end_s"]) for x in challenge["steps"]] == [
            ("turn_left", 0.2, 1.2),
            ("blink", 1.3, 2.3),
        ]
        r = svc.capture(s["id"], challenge["nonce"], clip=video.read_bytes())
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["verdict"] == "failed" and body["attempts_left"] == 2
        assert {"CHALLENGE_INCOMPLETE", "MATCH_SKIPPED"} <= set(body["reasons"])
        # no next challenge in it; each step as judged, and why it was not seen
        assert set(body) == {"verdict", "reasons", "attempts_left", "steps"}
        assert [x["action"] for x in body["steps"]] == ["turn_left", "blink"]
        assert not body["steps"][0]["seen"] and body["steps"][0]["reason"] in (
            "STEP_NOT_SEEN",
            "STEP_TOO_SMALL",
        )
        broken = svc.capture(
            s["id"], svc.nonce(s["id"]), clip=b"\x00\x00\x00\x18ftypmp42" + bytes(99)
        )
        assert broken.status_code == 400 and broken.json()["code"].startswith("VIDEO_")


def test_the_engine_verifier_stops_a_capture_past_its_time_budget(
    tmp_path: Path, engines, policy, astronaut: np.ndarray, astronaut_face: np.ndarray
) -> None:
    video = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (640, 480))
    for _ in range(45):
        writer.write(cv2.resize(astronaut, (640, 480)))
    writer.release()
    slow = dataclasses.replace(engines, detector=SlowDetector(engines.detector))
    verifier = EngineVerifier(slow, policy, VideoLimits(), ImageLimits(), capture_timeout_s=0.5)
    portrait = encode(cv2.resize(astronaut_face, (102, 126)), ".png")
    job = CaptureJob(portrait, video.read_bytes(), parse_challenge("blink"))
    start = time.monotonic()
    with pytest.raises(CaptureTimeoutError):  # 45 frames at over 50 ms each: over 2 s
        verifier(job)
    assert time.monotonic() - start < 1.5


def test_a_portrait_without_a_face_or_with_two_is_refused_at_the_card_with_real_engines(
    tmp_path: Path, coffee: np.ndarray, astronaut_face: np.ndarray
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'real.db'}")
    app = create_app(settings, clock=Clock(), periodic_tasks=False)
    with TestClient(app) as client:
        svc = Service(client, app.state.ctx, Clock(), verifier=None)  # type: ignore[arg-type]
        populate(svc.ctx)
        svc.headers["clerk_a"] = svc.login("clerk_a")
        s = svc.start()
        cup = encode(cv2.resize(coffee, (204, 136)), ".png")
        r = svc.card(s["id"], portrait=cup)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "NO_FACE" and r.json()["context"]["role"] == "reference"
        # a cup cut to the chip's 102x126: the library would align it whole as a tight crop
        # (FACE_NOT_DETECTED); the card refuses it as no face
        chip_cup = encode(cv2.resize(coffee, (102, 126)), ".png")
        r = svc.card(s["id"], portrait=chip_cup)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "NO_FACE"
        assert r.json()["context"] == {"role": "reference", "quality": "FACE_NOT_DETECTED"}
        pair = encode(np.hstack([astronaut_face, astronaut_face]), ".png")  # 480x300, same size
        r = svc.card(s["id"], portrait=pair)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "MULTIPLE_FACES"
        assert r.json()["context"]["role"] == "reference"
        row = svc.row(s["id"])
        assert row.state == "awaiting_card" and row.attempts == 0 and row.portrait_enc is None
        one = encode(cv2.resize(astronaut_face, (102, 126)), ".png")
        r = svc.card(s["id"], portrait=one)
        assert r.status_code == 200 and r.json()["state"] == "awaiting_capture", r.text
