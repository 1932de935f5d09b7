"""Framing advice on preview stills (the real detector, loaded at start-up even with a fake
verifier): guidance only, no nonce or attempt spent, nothing stored."""

from __future__ import annotations

import numpy as np

from tests.conftest import encode
from tests.face.test_framing import frame_with_head
from tests.service.conftest import Service


def post_frame(service: Service, session_id: str, data: bytes, who: str = "clerk_a"):
    return service.client.post(
        f"/api/v1/sessions/{session_id}/framing",
        files={"frame": ("frame.jpg", data, "image/jpeg")},
        headers=service.headers[who],
    )


def test_a_clerk_gets_advice_on_preview_stills(service: Service, astronaut: np.ndarray) -> None:
    s = service.start()
    head = np.ascontiguousarray(astronaut[20:260, 150:340])
    ok = post_frame(service, s["id"], encode(frame_with_head(head, 420, (0.5, 0.5))))
    assert ok.status_code == 200, ok.text
    assert ok.json()["advice"] == "OK" and ok.json()["faces"] == 1
    assert len(ok.json()["face_box"]) == 4
    far = post_frame(service, s["id"], encode(frame_with_head(head, 110, (0.5, 0.5))))
    assert far.json()["advice"] == "TOO_FAR"
    empty = post_frame(service, s["id"], encode(np.full((240, 320, 3), 120, np.uint8)))
    assert empty.json() == {"advice": "NO_FACE", "face_box": None, "faces": 0}
    # No attempt or nonce was spent: the capture still takes the session's nonce.
    assert service.card(s["id"]).status_code == 200
    assert service.capture(s["id"], service.nonce(s["id"])).json()["verdict"] == "passed"
    # A closed session gives no more advice.
    closed = post_frame(service, s["id"], encode(frame_with_head(head, 420, (0.5, 0.5))))
    assert closed.status_code == 409 and closed.json()["code"] == "SESSION_CLOSED"


def test_framing_refusals(service: Service) -> None:
    s = service.start()
    still = encode(np.full((240, 320, 3), 120, np.uint8))
    assert post_frame(service, s["id"], still, who="clerk_b").status_code == 404
    assert post_frame(service, s["id"], still, who="auditor").status_code == 403
    broken = post_frame(service, s["id"], b"\xff\xd8\xff\xe0 not really a jpeg")
    assert broken.status_code in (400, 415) and broken.json()["code"].startswith("IMAGE_")
    limit = service.ctx.settings.max_framing_bytes
    huge = post_frame(service, s["id"], b"\xff\xd8" + bytes(limit + 10))
    assert huge.status_code == 413
    missing = service.client.post(
        f"/api/v1/sessions/{s['id']}/framing",
        data={"nothing": "here"},
        headers=service.headers["clerk_a"],
    )
    assert missing.status_code == 422 and missing.json()["code"] == "REQUEST_INVALID"
