"""A deterministic verifier for service tests: the clip's bytes say what it shows.

``PASS`` passes; ``FAIL`` fails liveness (CHALLENGE_INCOMPLETE, MATCH_SKIPPED), its steps from
:func:`failed_steps`; ``MISMATCH`` passes liveness and clearly fails the match; ``REVIEW``
passes liveness with a score in the review band (``REVIEW_NO_CJK`` too, with its plot in English
only, as a server without a CJK font stores it); ``CORRUPT`` raises the library's
VideoCorruptError; ``BOOM`` raises an unexpected error whose message holds personal data;
``WAIT`` blocks until the test releases it; ``SHORT`` is a 2 s clip, refused as the real
verifier refuses a clip shorter than its schedule.

Its :meth:`FakeVerifier.enrol` models the enrolment of a card's portrait: a blank picture (one
grey level) has no face (``NO_FACE``); one at least twice as wide as high is two portraits side
by side (``MULTIPLE_FACES``); any other picture is enrolled.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from realname.errors import MultipleFacesError, NoFaceError, VideoCorruptError
from realname.liveness.actions import ActionEvent
from realname.liveness.challenge import MOVEMENT_UNITS, Challenge, StepReason, StepResult
from realname.policy import load_policy
from realname.service.verification import (
    Assessment,
    CaptureJob,
    Evidence,
    require_clip_length,
)

SECRET_IN_ERROR = "110101199003074578 张三"


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".png", rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    assert ok
    return buf.tobytes()


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    assert ok
    return buf.tobytes()


EVIDENCE = Evidence(frame_jpeg=_jpeg(1), plot_png=_png(2), plot_zh_png=_png(3))
# What a server without a CJK font stores: the plot in English only.
EVIDENCE_NO_CJK = Evidence(frame_jpeg=_jpeg(1), plot_png=_png(2))


def failed_steps(challenge: Challenge) -> tuple[StepResult, ...]:
    """A ``FAIL`` clip's steps: each seen in its window but the last, which was begun and was
    too small (a turn or nod: 9 of 12 degrees; a blink: 0.18 of 0.22 closure; the mouth: 0.2
    of 0.35), as the real check reports them."""
    schedule = challenge.schedule
    steps: list[StepResult] = []
    for i, action in enumerate(challenge.steps):
        prompt = None if schedule is None else schedule.prompts_s[i]
        end = None if schedule is None else schedule.window_ends_s[i]
        if i < len(challenge.steps) - 1:
            at = (prompt or 0.0) + 0.8
            event = ActionEvent(action, at - 0.3, at + 0.3, at, 1.0)
            steps.append(
                StepResult(
                    action,
                    at,
                    event,
                    prompt,
                    end,
                    event.start_s,
                    at,
                    None if prompt is None else round(event.start_s - prompt, 3),
                )
            )
            continue
        measured, needed = _TOO_SMALL[action]
        steps.append(
            StepResult(
                action,
                None,
                None,
                prompt,
                end,
                reason=StepReason.TOO_SMALL,
                measured=measured,
                needed=needed,
                unit=MOVEMENT_UNITS[action],
                observed_at_s=None if prompt is None else prompt + 0.9,
            )
        )
    return tuple(steps)


_TOO_SMALL = {
    "turn_left": (9.0, 12.0),
    "turn_right": (9.0, 12.0),
    "nod": (9.0, 12.0),
    "blink": (0.18, 0.22),
    "open_mouth": (0.2, 0.35),
}


class FakeVerifier:
    def __init__(self) -> None:
        policy = load_policy()
        assert policy.liveness is not None
        self.prompts = policy.liveness.prompts
        self.threshold = policy.operating_point("sface").threshold
        self.review_threshold = policy.operating_point("sface", "1e-3").threshold
        self.release = threading.Event()
        self.started = threading.Semaphore(0)
        self.calls: list[CaptureJob] = []
        self.enrolled: list[bytes] = []

    def enrol(self, portrait: bytes) -> None:
        image = cv2.imdecode(np.frombuffer(portrait, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, "the service decodes the portrait before it enrols it"
        self.enrolled.append(portrait)
        if float(image.std()) < 1.0:
            raise NoFaceError("no face was found in the reference image", role="reference")
        height, width = image.shape[:2]
        if width >= 2 * height:
            raise MultipleFacesError("2 faces in the reference image", role="reference")

    def __call__(self, job: CaptureJob) -> Assessment:
        self.calls.append(job)
        kind = job.clip.split(b":")[0]
        if kind == b"WAIT":
            self.started.release()
            assert self.release.wait(30), "the test never released the verifier"
            kind = b"PASS"
        if kind == b"CORRUPT":
            raise VideoCorruptError("the container cannot be opened")
        if kind == b"SHORT":
            require_clip_length(2.0, job.challenge, self.prompts)
        if kind == b"BOOM":
            raise RuntimeError(f"unexpected failure for {SECRET_IN_ERROR}")
        if kind == b"PASS":
            return self._assessment(True, self.threshold + 0.2, ())
        if kind in (b"REVIEW", b"REVIEW_NO_CJK"):
            score = (self.threshold + self.review_threshold) / 2
            evidence = EVIDENCE if kind == b"REVIEW" else EVIDENCE_NO_CJK
            return self._assessment(True, score, ("FACE_MISMATCH",), evidence)
        if kind == b"MISMATCH":
            return self._assessment(True, 0.05, ("FACE_MISMATCH",))
        return Assessment(
            liveness_passed=False,
            match_passed=False,
            score=None,
            threshold=None,
            engine="sface",
            reasons=("CHALLENGE_INCOMPLETE", "MATCH_SKIPPED"),
            details={"passed": False},
            steps=failed_steps(job.challenge),
        )

    def _assessment(
        self, live: bool, score: float, reasons: tuple[str, ...], evidence: Evidence = EVIDENCE
    ) -> Assessment:
        return Assessment(
            liveness_passed=live,
            match_passed=score >= self.threshold,
            score=score,
            threshold=self.threshold,
            engine="sface",
            reasons=reasons,
            details={"match": {"score": score, "threshold": self.threshold}},
            evidence=lambda: evidence,
        )
