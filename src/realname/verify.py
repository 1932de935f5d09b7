"""Quality, liveness and portrait match of one registration attempt, in one verdict.

The match runs only when liveness passed (GB/T 38671: stop when liveness fails), against the best
frontal frames of the clip.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from realname.engines import Engines
from realname.errors import PolicyError
from realname.face.match import FaceMatch, ImageSource, match_faces, prepare_reference
from realname.liveness.challenge import Challenge
from realname.liveness.check import LivenessReport, check_liveness
from realname.media.image import DEFAULT_LIMITS, ImageLimits, load_image
from realname.media.video import Clip, check_deadline
from realname.policy import MatchPolicy

__all__ = ["Verification", "verify_identity"]

MATCH_SKIPPED = "MATCH_SKIPPED"


@dataclass(frozen=True, slots=True, eq=False)
class Verification:
    passed: bool
    reasons: tuple[str, ...]
    liveness: LivenessReport
    match: FaceMatch | None  # None: not run, because liveness failed (reason MATCH_SKIPPED)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "liveness": self.liveness.to_dict(),
            "match": None
            if self.match is None
            else {
                "passed": self.match.passed,
                "score": self.match.score,
                "threshold": self.match.threshold,
                "fmr_target": self.match.fmr_target,
                "engine": self.match.engine,
                "engine_version": self.match.engine_version,
                "probes_used": list(self.match.probes_used),
                "reasons": list(self.match.reasons),
            },
            "timings_ms": self.timings_ms,
        }


def verify_identity(
    portrait: ImageSource,
    clip: Clip,
    challenge: Challenge,
    engines: Engines,
    policy: MatchPolicy,
    *,
    step_timeout_s: float | None = None,
    fmr: str | None = None,
    limits: ImageLimits = DEFAULT_LIMITS,
    deadline: float | None = None,
) -> Verification:
    """``fmr``: the match's operating point (``1e-3``, ``1e-4``, ``1e-5``); the policy's default
    when None. ``deadline``: a :func:`time.monotonic` instant, checked between frames and
    between stages; :class:`~realname.errors.CaptureTimeoutError` once it passes."""
    if policy.liveness is None:
        raise PolicyError(f"policy {policy.version} has no liveness section")
    start = time.perf_counter()
    reference = load_image(portrait, limits)  # bad portraits fail before any video work
    # The portrait's face is found and aligned in a thread while the clip is analysed (its
    # errors, such as no face, are raised only when the match needs it, as before).
    with ThreadPoolExecutor(max_workers=1) as pool:
        prepared = pool.submit(prepare_reference, reference, engines, policy, limits)
        liveness = check_liveness(
            clip,
            challenge,
            engines,
            policy,
            step_timeout_s=step_timeout_s,
            deadline=deadline,
        )
        t_live = time.perf_counter()
        match: FaceMatch | None = None
        reasons = list(liveness.reasons)
        if liveness.passed and liveness.best_frames:
            check_deadline(deadline, "matching the portrait")
            probes = [clip.frames[i] for i in liveness.best_frames]
            match = match_faces(prepared.result(), probes, engines, policy, fmr=fmr, limits=limits)
            reasons += list(match.reasons) if not match.passed else []
        elif not liveness.passed:
            reasons.append(MATCH_SKIPPED)
        t_match = time.perf_counter()
    return Verification(
        passed=liveness.passed and match is not None and match.passed,
        reasons=tuple(reasons),
        liveness=liveness,
        match=match,
        timings_ms={
            "liveness": round((t_live - start) * 1000, 1),
            "match": round((t_match - t_live) * 1000, 1),
            "total": round((t_match - start) * 1000, 1),
        },
    )
