"""Decoding and verifying one capture, in a worker thread: the seam between the service and the
library.

A :data:`Verifier` turns a :class:`CaptureJob` (portrait bytes, clip bytes, challenge) into an
:class:`Assessment`. The default, :class:`EngineVerifier`, decodes the clip in memory with
:func:`realname.media.video.decode_clip` and runs :func:`realname.verify.verify_identity` with the
engines and policy loaded at start-up; tests inject a deterministic fake. The verdict for the
clerk (``passed``, ``failed`` or ``review``) is decided by :func:`decide`, never by the verifier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import cv2
import numpy as np

from realname.engines import Engines
from realname.errors import ClipTooShortError, InternalError, NoFaceError
from realname.face.match import prepare_reference
from realname.face.quality import QualityReason
from realname.liveness.challenge import Challenge, StepResult
from realname.media.image import ImageLimits
from realname.media.video import VideoLimits, decode_clip
from realname.policy import MatchPolicy, PromptPolicy
from realname.verify import Verification, verify_identity

__all__ = [
    "MATCH_BORDERLINE",
    "PLOT_TITLES",
    "Assessment",
    "CaptureJob",
    "EngineVerifier",
    "Enroller",
    "Evidence",
    "Verdict",
    "Verifier",
    "decide",
    "require_clip_length",
]


class Verdict(StrEnum):
    """What the clerk is told of a capture (``sessions.verdict``): ``passed`` and ``review`` name
    the session's next state; ``failed`` leads to another try or to the ``failed`` state."""

    PASSED = "passed"
    FAILED = "failed"
    REVIEW = "review"


MATCH_BORDERLINE = "MATCH_BORDERLINE"
# A clip may fall this much short of its schedule's length: MediaRecorder starts a little after
# the page's clock (the prompts are timed from its start event) and the container's last frame
# ends the decoded duration a frame early (67 ms at 15 fps).
CLIP_LENGTH_TOLERANCE_S = 0.3


def require_clip_length(duration_s: float, challenge: Challenge, prompts: PromptPolicy) -> None:
    """Raise ``CLIP_TOO_SHORT`` for a clip that ends before its challenge's schedule does (its
    last window's end plus ``prompts.tail_s``): a recording stopped early is not judged."""
    if challenge.schedule is None:
        return
    required = challenge.schedule.min_capture_s(prompts.tail_s)
    if duration_s + CLIP_LENGTH_TOLERANCE_S < required:
        raise ClipTooShortError(
            f"the clip lasts {duration_s:.2f} s but its challenge's schedule needs "
            f"{required:.2f} s: the recording stopped early; capture again",
            duration_s=round(duration_s, 2),
            required_s=required,
        )


@dataclass(frozen=True, slots=True)
class CaptureJob:
    portrait: bytes
    clip: bytes
    challenge: Challenge
    attempt: int = 1  # the session's capture number (the evidence plot's title)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a supervisor sees of a borderline case (encrypted before it is stored): the best
    frame, and the liveness plot in English and in Chinese (``plot_zh_png`` None when no CJK
    font was found: the supervisor then gets the English one, and is told so)."""

    frame_jpeg: bytes
    plot_png: bytes | None
    plot_zh_png: bytes | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """The library's verdict, reduced to what the service decides on.

    ``score`` and ``threshold`` are None when the match did not run (liveness failed).
    ``details`` is the whole :meth:`Verification.to_dict` (scores included): for supervisors
    only, never for the clerk. ``evidence`` renders the best frame and the liveness plot; it is
    called only for a review.
    """

    liveness_passed: bool
    match_passed: bool
    score: float | None
    threshold: float | None
    engine: str
    reasons: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)
    evidence: Callable[[], Evidence] | None = None
    # The challenge's steps as judged, each with why it was not seen (the clerk may see these:
    # they hold timings and movement sizes, no score); empty when liveness did not run.
    steps: tuple[StepResult, ...] = ()

    @property
    def passed(self) -> bool:
        return self.liveness_passed and self.match_passed


Verifier = Callable[[CaptureJob], Assessment]
#: Enrols a chip portrait when its card is submitted: finds, assesses and aligns its face as the
#: match will (:func:`realname.face.match.prepare_reference`), raising
#: :class:`~realname.errors.FaceError` (``NO_FACE``, ``MULTIPLE_FACES``) for one that the match
#: could not use, so that the card is refused then rather than after the customer's capture.
Enroller = Callable[[bytes], None]


#: Match reasons that no supervisor may wave through: a covered face is refused whatever its
#: score (the customer uncovers it and tries again), so it never goes to review.
NOT_REVIEWABLE = frozenset(
    f"{side}_{QualityReason.FACE_OCCLUDED}" for side in ("REFERENCE", "PROBE")
)


def decide(assessment: Assessment, review_threshold: float) -> tuple[Verdict, tuple[str, ...]]:
    """``passed``; ``review`` when liveness passed, no face was covered (:data:`NOT_REVIEWABLE`)
    and the score lies in the review band [threshold at the review FMR, operating threshold);
    else ``failed`` with the reasons."""
    if assessment.passed:
        return Verdict.PASSED, ()
    if (
        assessment.liveness_passed
        and not NOT_REVIEWABLE & set(assessment.reasons)
        and assessment.score is not None
        and assessment.threshold is not None
        and review_threshold <= assessment.score < assessment.threshold
    ):
        return Verdict.REVIEW, (MATCH_BORDERLINE,)
    return Verdict.FAILED, assessment.reasons


def _encode_jpeg(frame: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise InternalError("the frame could not be encoded")
    return bytes(buf.tobytes())


#: The evidence plot's title by language: what it shows, never the verdict.
PLOT_TITLES = {"en": "Liveness evidence, capture {n}", "zh-CN": "活体证据，第 {n} 次采集"}


def _plot_pngs(verification: Verification, attempt: int) -> tuple[bytes | None, bytes | None]:
    """The supervisor's liveness plot in English and in Chinese, rendered in memory; the
    Chinese one None when no CJK font is found (it would be drawn in English)."""
    from realname.liveness.plot import cjk_font, render_liveness_plot

    report = verification.liveness
    if report.track is None:
        return None, None
    english, _ = render_liveness_plot(report, PLOT_TITLES["en"].format(n=attempt), "en")
    if cjk_font() is None:  # its Chinese title could not be drawn either
        return english, None
    title = PLOT_TITLES["zh-CN"].format(n=attempt)
    chinese, drawn = render_liveness_plot(report, title, "zh-CN")
    return english, chinese if drawn == "zh-CN" else None


class EngineVerifier:
    """The real verifier: decode in memory, then quality, liveness and match."""

    def __init__(
        self,
        engines: Engines,
        policy: MatchPolicy,
        video_limits: VideoLimits,
        image_limits: ImageLimits,
        *,
        fmr: str | None = None,
        capture_timeout_s: float | None = None,
    ) -> None:
        if policy.liveness is None:
            from realname.errors import PolicyError

            raise PolicyError(f"policy {policy.version} has no liveness section")
        self.engines = engines
        self.policy = policy
        self.video_limits = video_limits
        self.image_limits = image_limits
        self.fmr = fmr  # the operating point (REALNAME_MATCH_FMR); the policy default when None
        # REALNAME_CAPTURE_TIMEOUT_S: one capture's decoding and judging stop (CAPTURE_TIMEOUT)
        # once it is spent, checked between frames; None: no limit.
        self.capture_timeout_s = capture_timeout_s

    def enrol(self, portrait: bytes) -> None:
        """The :data:`Enroller` of these engines: the match's own reference preparation. A
        portrait in which no face was detected is refused too (``NO_FACE``, ``context.quality``
        ``FACE_NOT_DETECTED``), although the library would align it whole as a tight crop: the
        capture would be judged against a face nobody found (the fallback served 0 of 300 LFW
        chip portraits, 102x126, 2026-12-02), and fails as ``REFERENCE_FACE_NOT_DETECTED``."""
        prepared = prepare_reference(portrait, self.engines, self.policy, self.image_limits)
        if prepared.located.face.source == "whole_image_fallback":
            raise NoFaceError(
                "no face was detected in the card's portrait",
                role="reference",
                quality=QualityReason.FACE_NOT_DETECTED,
            )

    def __call__(self, job: CaptureJob) -> Assessment:
        live = self.policy.liveness
        if live is None:  # refused in __init__; the policy is frozen
            raise InternalError(f"policy {self.policy.version} has no liveness section")
        budget = self.capture_timeout_s
        deadline = None if budget is None else time.monotonic() + budget
        clip = decode_clip(
            job.clip,
            self.video_limits,
            sample_fps=live.sample_fps,
            analysis_long_side=live.analysis_long_side,
            deadline=deadline,
        )
        require_clip_length(clip.duration_s, job.challenge, live.prompts)
        result = verify_identity(
            job.portrait,
            clip,
            job.challenge,
            self.engines,
            self.policy,
            fmr=self.fmr,
            limits=self.image_limits,
            deadline=deadline,
        )
        match = result.match

        def evidence() -> Evidence:
            best = result.liveness.best_frames
            frame = clip.frames[best[0]] if best else clip.frames[len(clip.frames) // 2]
            return Evidence(_encode_jpeg(frame), *_plot_pngs(result, job.attempt))

        return Assessment(
            liveness_passed=result.liveness.passed,
            match_passed=match is not None and match.passed,
            score=None if match is None else float(match.score),
            threshold=None if match is None else float(match.threshold),
            engine=self.engines.embedder.name if match is None else match.engine,
            reasons=result.reasons,
            details=result.to_dict(),
            evidence=evidence,
            steps=result.liveness.steps,
        )
