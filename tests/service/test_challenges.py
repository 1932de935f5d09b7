"""Challenges revealed at the last moment (issue 10): none before ``POST .../challenge``, a
schedule drawn by the CSPRNG and stored with the session, a short validity, a new challenge that
spends the old one, short clips refused, sessions rate-limited, and every challenge never
answered (and every session abandoned) audited and counted."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from realname.errors import ClipTooShortError, SessionRateLimitError
from realname.liveness.challenge import parse_challenge
from realname.media.video import VideoLimits
from realname.policy import load_policy
from realname.service.throttles import SessionThrottle
from realname.service.usecases.purge import purge
from realname.service.usecases.registration import UPLOAD_SLACK_S
from realname.service.verification import EngineVerifier, require_clip_length
from tests.service.conftest import Service
from tests.service.invariant import assert_invariants

PROMPTS = load_policy().liveness.prompts  # type: ignore[union-attr]


def _audited(service: Service, action: str) -> list[tuple[str, dict[str, str]]]:
    with service.ctx.database.transaction() as session:
        return [
            (e.outcome, dict(e.objects))
            for e in service.ctx.audit.entries(session)
            if e.action == action
        ]


def _metric(service: Service, line: str) -> float:
    for row in service.client.get("/metrics").text.splitlines():
        if row.startswith(line + " "):
            return float(row.split()[-1])
    return 0.0


def _ready(service: Service) -> str:
    s = service.start()
    assert service.card(s["id"]).status_code == 200
    return str(s["id"])


def test_no_challenge_exists_before_the_page_asks_for_one(service: Service) -> None:
    s = service.start()
    assert "challenge" not in s and "nonce" not in s and s["challenges_issued"] == 0
    assert service.row(s["id"]).challenge is None
    card = service.card(s["id"]).json()
    assert "challenge" not in card and "nonce" not in card
    row = service.row(s["id"])
    assert row.challenge is None and row.nonce_hash is None and row.challenge_issued_at is None
    assert service.capture(s["id"], "guessed").json()["code"] == "NONCE_INVALID"


def test_the_challenge_carries_its_schedule_and_is_stored_with_it(service: Service) -> None:
    sid = _ready(service)
    r = service.challenge(sid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session_id"] == sid and body["attempts_left"] == 3
    assert len(body["steps"]) in PROMPTS.steps
    assert body["capture_s"] == PROMPTS.capture_s == 11.0
    assert body["valid_s"] == service.ctx.settings.challenge_ttl_s == 20
    issued = datetime.fromisoformat(body["issued_at"])
    assert datetime.fromisoformat(body["expires_at"]) - issued == timedelta(seconds=20)
    answer_window = timedelta(seconds=20 + PROMPTS.capture_s + UPLOAD_SLACK_S)
    assert datetime.fromisoformat(body["answer_by"]) - issued == answer_window
    prompts = [x["prompt_s"] for x in body["steps"]]
    assert PROMPTS.first_prompt_s[0] <= prompts[0] <= PROMPTS.first_prompt_s[1]
    for a, b in itertools.pairwise(prompts):
        assert PROMPTS.gap_s[0] - 1e-9 <= b - a <= PROMPTS.gap_s[1] + 1e-9
    for x in body["steps"]:
        assert x["window_end_s"] == pytest.approx(x["prompt_s"] + PROMPTS.window_s)
    row = service.row(sid)
    stored = parse_challenge(row.challenge or "")
    assert stored.schedule is not None
    assert [
        (a, p, e)
        for a, p, e in zip(
            stored.steps, stored.schedule.prompts_s, stored.schedule.window_ends_s, strict=True
        )
    ] == [(x["action"], x["prompt_s"], x["window_end_s"]) for x in body["steps"]]
    assert row.challenge_issued_at == service.clock.now and row.challenges_issued == 1
    assert stored.schedule.min_capture_s(PROMPTS.tail_s) <= body["capture_s"]
    # The verifier judges the capture against exactly that challenge, schedule included.
    assert service.capture(sid, body["nonce"]).json()["verdict"] == "passed"
    assert service.verifier.calls[-1].challenge == stored
    assert _audited(service, "challenge.issue") == [("ok", {"session": sid, "challenge": "1"})]


def test_challenges_are_drawn_afresh_each_time(service: Service) -> None:
    sid = _ready(service)
    drawn = {str(_row_after(service, sid)) for _ in range(5)}
    assert len(drawn) == 5  # schedules on a 10 ms grid: a repeat is vanishingly rare


def _row_after(service: Service, sid: str) -> str | None:
    assert service.challenge(sid).status_code == 200
    return service.row(sid).challenge


@pytest.mark.parametrize("late", [False, True])
def test_a_clip_after_the_challenges_deadline_is_refused_challenge_expired(
    service: Service, late: bool
) -> None:
    sid = _ready(service)
    nonce = service.nonce(sid)
    window = service.ctx.settings.challenge_ttl_s + PROMPTS.capture_s + UPLOAD_SLACK_S
    service.clock.advance(window + (1 if late else -1))
    r = service.capture(sid, nonce)
    if not late:
        assert r.status_code == 200 and r.json()["verdict"] == "passed", r.text
        return
    assert r.status_code == 409 and r.json()["code"] == "CHALLENGE_EXPIRED", r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert service.verifier.calls == []
    row = service.row(sid)
    assert row.attempts == 0 and row.nonce_hash is None and row.state == "awaiting_capture"
    assert service.capture(sid, nonce).json()["code"] == "NONCE_INVALID"  # spent
    ((outcome, objects),) = _audited(service, "challenge.unanswered")
    assert outcome == "expired" and objects["session"] == sid
    assert _metric(service, 'realname_challenges_unanswered_total{reason="expired"}') == 1
    assert_invariants(service.ctx)
    # A new challenge, answered in time, passes with every attempt still left.
    r = service.capture(sid, service.nonce(sid))
    assert r.json() == {"verdict": "passed", "reasons": [], "attempts_left": 2, "steps": []}


def test_a_new_challenge_spends_the_previous_nonce(service: Service) -> None:
    sid = _ready(service)
    first = service.nonce(sid)
    second = service.nonce(sid)
    assert first != second
    r = service.capture(sid, first)
    assert r.status_code == 409 and r.json()["code"] == "NONCE_INVALID"
    assert service.capture(sid, second).json()["verdict"] == "passed"
    ((outcome, objects),) = _audited(service, "challenge.unanswered")
    assert outcome == "replaced" and objects["session"] == sid and "issued_at" in objects
    assert _metric(service, 'realname_challenges_unanswered_total{reason="replaced"}') == 1
    assert _metric(service, "realname_challenges_issued_total") == 2
    assert service.row(sid).challenges_issued == 2
    assert_invariants(service.ctx)


@pytest.mark.parametrize("settings_overrides", [{"max_challenges": 2}])
def test_a_session_gets_at_most_max_challenges(service: Service) -> None:
    sid = _ready(service)
    service.nonce(sid)
    last = service.nonce(sid)
    r = service.challenge(sid)
    assert r.status_code == 409 and r.json()["code"] == "CHALLENGE_LIMIT"
    assert service.capture(sid, last).json()["verdict"] == "passed"  # the last one still works


def test_a_failed_capture_waits_for_a_new_challenge(service: Service) -> None:
    sid = _ready(service)
    r = service.capture(sid, service.nonce(sid), clip=b"FAIL")
    body = r.json()
    steps = body.pop("steps")  # each step as judged (tests/service/test_desk_visit.py)
    assert body == {
        "verdict": "failed",
        "reasons": ["CHALLENGE_INCOMPLETE", "MATCH_SKIPPED"],
        "attempts_left": 2,
    }
    assert steps[-1]["reason"] == "STEP_TOO_SMALL"
    row = service.row(sid)
    assert row.state == "awaiting_capture" and row.nonce_hash is None
    assert service.capture(sid, service.nonce(sid)).json()["verdict"] == "passed"
    assert _audited(service, "challenge.unanswered") == []  # both were answered


def test_a_clip_shorter_than_its_schedule_is_not_judged(service: Service) -> None:
    sid = _ready(service)
    r = service.capture(sid, service.nonce(sid), clip=b"SHORT")
    assert r.status_code == 422 and r.json()["code"] == "CLIP_TOO_SHORT", r.text
    assert "2.00 s" in r.json()["detail"]
    context = r.json()["context"]
    assert context["duration_s"] == 2.0 and context["required_s"] > 5
    view = service.client.get(f"/api/v1/sessions/{sid}", headers=service.headers["clerk_a"])
    assert view.json()["attempts_left"] == 2 and view.json()["reasons"] == ["CLIP_TOO_SHORT"]
    assert service.capture(sid, service.nonce(sid)).json()["verdict"] == "passed"


def test_the_clip_length_rule_allows_only_the_recorders_slack() -> None:
    challenge = parse_challenge("blink@1.00-3.20,turn_left@3.50-5.70,nod@6.00-8.20")
    needed = 8.2 + PROMPTS.tail_s
    require_clip_length(needed - 0.25, challenge, PROMPTS)  # MediaRecorder's start latency
    with pytest.raises(ClipTooShortError) as refused:
        require_clip_length(needed - 0.5, challenge, PROMPTS)
    assert refused.value.status == 422 and refused.value.context["required_s"] == needed
    require_clip_length(1.0, parse_challenge("blink,turn_left"), PROMPTS)  # no schedule: no rule


def test_the_engine_verifier_refuses_a_short_clip_before_judging_it(tmp_path: Path) -> None:
    video = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (320, 240))
    rng = np.random.default_rng(3)
    for _ in range(45):  # 3 s
        writer.write(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    writer.release()
    from realname.media.image import ImageLimits
    from realname.service.verification import CaptureJob

    # No engine is touched: the clip's length is checked right after decoding.
    verifier = EngineVerifier(None, load_policy(), VideoLimits(), ImageLimits())  # type: ignore[arg-type]
    job = CaptureJob(
        b"", video.read_bytes(), parse_challenge("blink@1.00-3.20,turn_left@3.50-5.70")
    )
    with pytest.raises(ClipTooShortError, match=r"needs 6\.20 s"):
        verifier(job)


@pytest.mark.parametrize("settings_overrides", [{"session_rate_per_clerk": "2/hour"}])
def test_sessions_per_clerk_are_rate_limited_with_retry_after(service: Service) -> None:
    service.start()
    service.start(consent=False)  # a refused consent is a session opened too
    r = service.client.post(
        "/api/v1/sessions",
        json={"biometric_consent": True, "consent_text_version": "v1"},
        headers=service.headers["clerk_a"],
    )
    assert r.status_code == 429 and r.json()["code"] == "SESSION_RATE_LIMITED", r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    assert r.json()["context"]["by"] == "clerk"
    assert service.start("clerk_b")["state"] == "awaiting_card"  # another clerk is not limited
    assert _metric(service, 'realname_sessions_refused_total{by="clerk"}') == 1


def test_sessions_per_outlet_are_rate_limited() -> None:
    throttle = SessionThrottle("100/hour", "2/hour")
    throttle.check(1, 10)
    throttle.check(2, 10)
    with pytest.raises(SessionRateLimitError) as refused:
        throttle.check(3, 10)
    assert refused.value.context["by"] == "outlet" and refused.value.retry_after_s
    throttle.check(3, 11)  # another outlet
    refusing = SessionThrottle("1/hour", "100/hour")
    refusing.check(1, 10)
    with pytest.raises(SessionRateLimitError):
        refusing.check(1, 10)
    refusing.check(2, 10)  # a refusal spent nothing of the outlet's budget


def test_abandoned_sessions_and_their_challenges_are_audited_and_counted(
    service: Service,
) -> None:
    no_card = service.start()["id"]
    waiting = _ready(service)
    nonce = service.nonce(waiting)
    done = service.passed_session()
    service.clock.advance(service.ctx.settings.session_ttl_s + 1)
    purge(service.ctx)
    for sid in (no_card, waiting):
        assert service.row(sid).state == "expired"
    assert service.row(done).state == "passed"
    abandoned = _audited(service, "session.abandoned")
    assert sorted((o, x["session"], x["challenges"]) for o, x in abandoned) == sorted(
        [("awaiting_card", no_card, "0"), ("awaiting_capture", waiting, "1")]
    )
    ((outcome, objects),) = _audited(service, "challenge.unanswered")
    assert outcome == "abandoned" and objects["session"] == waiting
    assert _metric(service, 'realname_sessions_abandoned_total{state="awaiting_card"}') == 1
    assert _metric(service, 'realname_sessions_abandoned_total{state="awaiting_capture"}') == 1
    assert _metric(service, 'realname_challenges_unanswered_total{reason="abandoned"}') == 1
    assert service.capture(waiting, nonce).json()["code"] == "SESSION_CLOSED"
    purge(service.ctx)  # nothing is abandoned twice
    assert len(_audited(service, "session.abandoned")) == 2
    assert_invariants(service.ctx)


@pytest.mark.parametrize(
    "settings_overrides",
    [{"dev_mode": True, "dev_fixed_challenge": "blink@1.20-3.40,turn_right@3.10-5.30"}],
)
def test_the_dev_fixed_challenge_keeps_its_explicit_schedule(service: Service) -> None:
    sid = _ready(service)
    body = service.challenge(sid).json()
    assert [(x["action"], x["prompt_s"], x["window_end_s"]) for x in body["steps"]] == [
        ("blink", 1.2, 3.4),
        ("turn_right", 3.1, 5.3),
    ]
    assert service.row(sid).challenge == "blink@1.20-3.40,turn_right@3.10-5.30"
