"""The citizen's look-up (一证通查) through HTTP with the real engines and real clips.

One service (dev mode, the fixed challenge of :mod:`tests.data.test_service_registration`, whose
schedule fits headtrackr capture4 from 0.3 s) registers the clip's person and binds a number.
The same person then looks up their ID with the same clip and its chip portrait and sees the
number; the live clip with another person's ID-style portrait (cn_id_card_synthetic) and a
phone-screen replay (manikantha fake.mp4, challenged with the action it shows) are refused, and
the refusal reads the same for that ID and for an ID that holds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import pytest
from fastapi.testclient import TestClient

from realname.liveness.challenge import parse_challenge
from realname.service.app import create_app
from tests.conftest import encode
from tests.data.test_service_registration import (
    CAPTURE_S,
    LIVE,
    LIVE_CHALLENGE,
    LIVE_START_S,
    REPLAY,
    chip_portrait,
    read_frames,
    write_clip,
)
from tests.service.conftest import Clock, Service, make_id, make_settings, populate
from tests.service.test_citizen_lookup import capture, challenge, start, without_ids

pytestmark = pytest.mark.data

HOLDER = make_id()
NOBODY = make_id(sequence="459")
OTHER_FACE = "cn_id_card_synthetic/airob0t_sample_id_style_portrait.jpg"


@dataclass
class Lookups:
    svc: Service
    portrait: bytes  # the clip's person, as the chip gives it
    live: bytes  # the 11 s the page records
    replay: bytes
    other_portrait: bytes  # another person's ID-style portrait


@pytest.fixture(scope="module")
def lookups(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, engines: Any
) -> Iterator[Lookups]:
    tmp = tmp_path_factory.mktemp("lookup")
    frames, fps = read_frames(data_dir / LIVE)
    portrait = chip_portrait(frames[0], engines)
    skip = round(LIVE_START_S * fps)
    live = write_clip(frames[skip : skip + round((CAPTURE_S + 0.1) * fps)], fps, tmp / "live.mp4")
    replay_frames, replay_fps = read_frames(data_dir / REPLAY)
    replay = write_clip(replay_frames[round(0.3 * replay_fps) :], replay_fps, tmp / "replay.mp4")
    other = cv2.imread(str(data_dir / OTHER_FACE))
    assert other is not None
    other_portrait = encode(cv2.resize(other, (102, 126), interpolation=cv2.INTER_AREA), ".png")
    settings = make_settings(
        f"sqlite:///{tmp / 'realname.db'}", dev_mode=True, dev_fixed_challenge=LIVE_CHALLENGE
    )
    app = create_app(settings, clock=Clock(), periodic_tasks=False)
    with TestClient(app) as client:
        svc = Service(client, app.state.ctx, Clock(), verifier=None)  # type: ignore[arg-type]
        populate(svc.ctx)
        svc.headers["clerk_a"] = svc.login("clerk_a")
        session = svc.start()
        assert svc.card(session["id"], portrait=portrait).status_code == 200
        r = svc.capture(session["id"], svc.nonce(session["id"]), clip=live)
        assert r.status_code == 200 and r.json()["verdict"] == "passed", r.text
        assert svc.bind(session["id"], "13812345678").status_code == 201
        yield Lookups(svc, portrait, live, replay, other_portrait)


def look_up(
    client: TestClient, id_number: str, portrait: bytes, clip: bytes
) -> tuple[list[Any], dict[str, Any]]:
    """Start, challenge and capture: each answer's status and body less its ids, and the
    capture's body."""
    started = start(client, id_number, portrait=portrait)
    assert started.status_code == 201, started.text
    issued = challenge(client, started.json())
    assert issued.status_code == 200, issued.text
    judged = capture(client, started.json(), issued.json()["nonce"], clip=clip)
    assert judged.status_code == 200, judged.text
    shapes = [(r.status_code, without_ids(r.json())) for r in (started, issued, judged)]
    return shapes, judged.json()


def test_the_live_holder_sees_the_number_masked(lookups: Lookups) -> None:
    _, body = look_up(lookups.svc.client, HOLDER, lookups.portrait, lookups.live)
    assert body["verdict"] == "passed", body
    (number,) = body["numbers"]
    assert number["msisdn"] == "*******5678" and number["outlet"] == "Outlet A"
    assert not number["disputed"]


def test_another_persons_portrait_is_refused_alike_whatever_the_id_holds(
    lookups: Lookups,
) -> None:
    holder, body = look_up(lookups.svc.client, HOLDER, lookups.other_portrait, lookups.live)
    nobody, _ = look_up(lookups.svc.client, NOBODY, lookups.other_portrait, lookups.live)
    assert body["verdict"] == "refused" and body["numbers"] == [], body
    assert "FACE_MISMATCH" in body["reasons"], body
    assert holder == nobody


def test_a_screen_replay_is_refused_alike_whatever_the_id_holds(lookups: Lookups) -> None:
    ctx = lookups.svc.ctx
    fixed = ctx.challenge_override
    ctx.challenge_override = parse_challenge("turn_left")  # the action the replay shows
    try:
        holder, body = look_up(lookups.svc.client, HOLDER, lookups.portrait, lookups.replay)
        nobody, _ = look_up(lookups.svc.client, NOBODY, lookups.portrait, lookups.replay)
    finally:
        ctx.challenge_override = fixed
    assert body["verdict"] == "refused" and body["numbers"] == [], body
    assert "SCREEN_BORDER" in body["reasons"], body
    assert holder == nobody
