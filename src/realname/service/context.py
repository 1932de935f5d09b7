"""What every request needs, built once per app: settings, database, keys, audit, policy,
verifier, pool, metrics, the sign-in guard and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone

from realname.cards.base import IdCardReader
from realname.errors import InputError, SetupError
from realname.face.framing import FramingResult
from realname.liveness.challenge import (
    Challenge,
    fixed_schedule,
    issue_challenge,
    parse_challenge,
)
from realname.media.image import ImageLimits
from realname.media.video import VideoLimits
from realname.policy import MatchPolicy, PromptPolicy
from realname.service.keys import ServiceKeys
from realname.service.metrics import Metrics
from realname.service.settings import ServiceSettings
from realname.service.signin import SignInGuard
from realname.service.store.audit_store import AuditStore
from realname.service.store.db import Database
from realname.service.throttles import LookupThrottle, SessionThrottle
from realname.service.verification import Enroller, Verifier
from realname.service.workers import VerificationPool

__all__ = ["CHINA", "Clock", "ServiceContext", "fixed_challenge"]

Clock = Callable[[], datetime]
Framer = Callable[[bytes], FramingResult]
CHINA = timezone(timedelta(hours=8))  # the date on the card is a Beijing-time date


def fixed_challenge(settings: ServiceSettings) -> Challenge | None:
    """``REALNAME_DEV_FIXED_CHALLENGE`` (dev mode only: start-up refuses it otherwise), with its
    own schedule (``blink@1.00-3.20,...``) or none: :meth:`ServiceContext.new_challenge` then
    gives it the policy's :func:`~realname.liveness.challenge.fixed_schedule`."""
    if not settings.dev_fixed_challenge:
        return None
    if not settings.dev_mode:
        raise SetupError("REALNAME_DEV_FIXED_CHALLENGE is allowed only with REALNAME_DEV_MODE=1")
    try:
        challenge = parse_challenge(settings.dev_fixed_challenge)
    except InputError as exc:
        raise SetupError(f"REALNAME_DEV_FIXED_CHALLENGE: {exc}") from None
    if not challenge.steps:
        raise SetupError("REALNAME_DEV_FIXED_CHALLENGE names no action")
    return challenge


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class ServiceContext:
    settings: ServiceSettings
    database: Database
    keys: ServiceKeys
    audit: AuditStore
    pool: VerificationPool
    metrics: Metrics
    signin: SignInGuard  # sign-in throttles, locks and thread pool (realname.service.signin)
    session_throttle: SessionThrottle  # sessions per clerk and outlet (realname.service.throttles)
    # Citizen look-ups per ID and client address (一证通查); built from the settings if not given.
    lookup_throttle: LookupThrottle | None = None
    clock: Clock = _utcnow
    challenge_override: Challenge | None = None
    policy: MatchPolicy | None = None  # loaded at start-up
    verifier: Verifier | None = None  # built (models loaded) at start-up
    # Enrols a card's portrait (the match's reference preparation), with the verifier's
    # engines; None only where a test injects a verifier without one (then the portrait is
    # only decoded at the card).
    enroller: Enroller | None = None
    framer: Framer | None = None  # framing advice on a preview still (detector loaded at start-up)
    # Reads photographed ID cards (realname.cards), loaded at start-up; None when
    # REALNAME_CARD_READER is none (the desk then takes typed fields and chip answers only).
    card_reader: IdCardReader | None = None
    models_loaded: bool = False
    started_at: datetime = field(default_factory=_utcnow)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.now().astimezone(CHINA).date()

    @property
    def prompts(self) -> PromptPolicy:
        """The policy's prompt timing (``liveness.prompts``)."""
        live = self.require_policy().liveness
        if live is None:
            raise SetupError("the policy has no liveness section")
        return live.prompts

    def new_challenge(self) -> Challenge:
        """A prompt-locked challenge drawn by the CSPRNG (step count and schedule from
        ``liveness.prompts``), or the dev-mode fixed one with its (fixed) schedule."""
        prompts = self.prompts
        fixed = self.challenge_override
        if fixed is None:
            return issue_challenge(prompts=prompts)
        if fixed.schedule is None:
            return Challenge(fixed.steps, fixed_schedule(len(fixed.steps), prompts))
        return fixed

    @property
    def video_limits(self) -> VideoLimits:
        """The settings' limits, with the policy's frame-rate floor (``liveness.min_fps``)."""
        live = self.policy.liveness if self.policy is not None else None
        limits = self.settings.video_limits()
        return limits if live is None else replace(limits, min_fps=live.min_fps)

    @property
    def image_limits(self) -> ImageLimits:
        return self.settings.image_limits()

    def require_policy(self) -> MatchPolicy:
        if self.policy is None:
            raise SetupError("the service has not finished starting (policy not loaded)")
        return self.policy

    def require_verifier(self) -> Verifier:
        if self.verifier is None:
            raise SetupError("the service has not finished starting (models not loaded)")
        return self.verifier

    def review_threshold(self, engine: str) -> float:
        """The lower edge of the review band: the engine's threshold at ``review_fmr``."""
        return self.require_policy().operating_point(engine, self.settings.review_fmr).threshold
