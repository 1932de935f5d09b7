"""Prometheus metrics of one app (its own registry, so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    """The counters, histograms and gauges of one app, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._http()
        self._verification()
        self._sessions()

    def _http(self) -> None:
        self.requests = Counter(
            "realname_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "realname_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
        )

    def _verification(self) -> None:
        self.verdicts = Counter(
            "realname_capture_verdicts",
            "Capture verdicts (passed, failed, review) and capture errors (error)",
            ["verdict"],
            registry=self.registry,
        )
        self.pool_in_use = Gauge(
            "realname_verification_pool_in_use",
            "Verifications running or waiting",
            registry=self.registry,
        )
        self.pool_capacity = Gauge(
            "realname_verification_pool_capacity",
            "Workers plus queue places",
            registry=self.registry,
        )
        self.busy = Counter(
            "realname_verification_busy",
            "Captures refused with 503 BUSY",
            registry=self.registry,
        )

    def _sessions(self) -> None:  # and sign-ins
        self.challenges_issued = Counter(
            "realname_challenges_issued",
            "Liveness challenges revealed (POST .../challenge)",
            registry=self.registry,
        )
        self.challenges_unanswered = Counter(
            "realname_challenges_unanswered",
            "Challenges spent without a clip: replaced by a new one, expired (the clip came too "
            "late), or abandoned with their session",
            ["reason"],
            registry=self.registry,
        )
        self.sessions_abandoned = Counter(
            "realname_sessions_abandoned",
            "Sessions that reached their deadline without an outcome, by the state they were in",
            ["state"],
            registry=self.registry,
        )
        self.sessions_refused = Counter(
            "realname_sessions_refused",
            "Sessions refused by the per-clerk or per-outlet rate limit, by which (not audited)",
            ["by"],
            registry=self.registry,
        )
        self.signin_refused = Counter(
            "realname_signin_refused",
            "Sign-ins refused before any password check (not audited): by throttle (address, "
            "account), account lock (locked) or a full sign-in pool (busy)",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
