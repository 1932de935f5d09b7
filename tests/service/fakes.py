"""A deterministic verifier for service tests: the clip's bytes say what it shows.

``PASS`` passes; ``FAIL`` fails liveness (CHALLENGE_INCOMPLETE, MATCH_SKIPPED); ``MISMATCH``
passes liveness and clearly fails the match; ``REVIEW`` passes liveness with a score in the
review band; ``CORRUPT`` raises the library's VideoCorruptError; ``BOOM`` raises an unexpected
error whose message holds personal data; ``WAIT`` blocks until the test releases it;
``SHORT`` is a 2 s clip, refused as the real verifier refuses a clip shorter than its schedule.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from realname.errors import VideoCorruptError
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


EVIDENCE = Evidence(frame_jpeg=_jpeg(1), plot_png=_png(2))


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
        if kind == b"REVIEW":
            score = (self.threshold + self.review_threshold) / 2
            return self._assessment(True, score, ("FACE_MISMATCH",))
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
        )

    def _assessment(self, live: bool, score: float, reasons: tuple[str, ...]) -> Assessment:
        return Assessment(
            liveness_passed=live,
            match_passed=score >= self.threshold,
            score=score,
            threshold=self.threshold,
            engine="sface",
            reasons=reasons,
            details={"match": {"score": score, "threshold": self.threshold}},
            evidence=lambda: EVIDENCE,
        )
