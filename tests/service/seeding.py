"""A seeded service for the inspection tests: hundreds of registrations at nine outlets over
five local days, every one made through the real HTTP API (sign-in, consent, card, challenge,
capture, review, bind, deregister), with the FAKE verifier of :mod:`tests.service.fakes`
standing in for the engines (its clip names choose the verdict). Anomalies of every kind are
planted, each at an outlet of its own, and a ledger records what was planted, figure by figure,
so the tests compare every report figure with it:

=====  ==================================================================================
O1     its supervisor approves every review case (20 of 20): ``approval_rate``, ``approves_all``
O2     12 more customers refuse the face check: ``manual_rate``
O3     two numbers bound at 23:30 local, outside 09:00-21:00: ``out_of_hours``
O4     a supervisor approves a case of the clerk account of the same employee: ``self_approval``
O5+O3  one ID fails three captures at each: ``id_failures``
O6     three numbers ended an hour after they were bound: ``quick_end``
O7     a clerk completes four captures ten seconds apart: ``burst``
O8     an ID locked after five failed captures at one outlet (a report figure, not a flag); a
       number of O8 reported "not mine" by its holder in a citizen look-up: ``disputes``
O9     clean
=====  ==================================================================================

Every outlet's baseline, each of the five days: four customers who pass at once, one who fails
once and then passes, two sent to review (approved on a pattern of the outlet's own), every
passed or approved session bound to a number; one customer refuses consent over the five days;
one card is refused (expired), then the right one is read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from realname.identity.idcard import check_character
from realname.records.audit import Actor
from realname.service.app import create_app
from realname.service.usecases.people import create_outlet, create_user
from tests.service.conftest import PASSWORD, Clock, card_form, make_settings, portrait_png
from tests.service.fakes import FakeVerifier

OFFSET = timedelta(hours=8)
FIRST_DAY = date(2026, 11, 2)  # a Monday: the five days are one ISO week
DAYS = 5
OUTLETS = 9
HOURS = "09:00-21:00"
CAPTURE_S = (11, 13, 12, 15, 14, 12, 16)  # challenge to verdict (s), cycled


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC) - OFFSET


@dataclass
class Ledger:
    """What the seeding did, by (outlet id, local day), as the report should count it."""

    counts: dict[tuple[str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    reasons: dict[tuple[str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    reviews_by: dict[tuple[str, str], dict[str, Counter[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )
    capture_times: dict[tuple[str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    planted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    sessions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


@dataclass
class Seeded:
    client: TestClient
    clock: Clock
    ledger: Ledger
    outlets: dict[str, str]  # name -> id
    headers: dict[str, dict[str, str]]
    ctx: Any
    _people: Iterator[int] = field(default_factory=lambda: iter(range(1, 100000)))
    _numbers: Iterator[int] = field(default_factory=lambda: iter(range(1, 100000)))

    # ------------------------------------------------------------------ helpers

    def at(self, moment: datetime) -> None:
        self.clock.now = moment

    def key(self, outlet: str) -> tuple[str, str]:
        day = (self.clock.now + OFFSET).date().isoformat()
        return self.outlets[outlet], day

    def count(self, outlet: str, *names: str) -> None:
        for name in names:
            self.ledger.counts[self.key(outlet)][name] += 1

    def new_id(self) -> str:
        n = next(self._people)
        first = f"110101{1960 + n % 40}0{1 + n % 9}1{n % 9}{n % 1000:03d}"
        return first + check_character(first)

    def new_msisdn(self) -> str:
        return f"139{next(self._numbers):08d}"

    def post(self, path: str, who: str, **kw: Any) -> Any:
        r = self.client.post(path, headers=self.headers[who], **kw)
        assert r.status_code in (200, 201), (path, r.status_code, r.text)
        return r.json()

    # ------------------------------------------------------------------ a customer

    def start(self, outlet: str, clerk: str, consent: bool = True) -> str:
        body = self.post(
            "/api/v1/sessions",
            clerk,
            json={"biometric_consent": consent, "consent_text_version": "v1"},
        )
        self.count(outlet, "sessions_started")
        if not consent:
            self.count(outlet, "consent_refused")
        return str(body["id"])

    def card(self, sid: str, clerk: str, id_number: str, outlet: str, bad: bool = False) -> None:
        """Read the card; ``bad``: one that expired in 2020 (CARD_REFUSED, audited)."""
        birth = id_number[6:14]
        form = card_form(
            id_number=id_number,
            birth_date=f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
            sex="男" if int(id_number[16]) % 2 else "女",
        )
        if bad:
            form |= {"valid_from": "2010-01-01", "valid_until": "2020-01-01"}
        r = self.client.put(
            f"/api/v1/sessions/{sid}/id-card",
            data=form,
            files={"portrait": ("p.png", portrait_png(), "image/png")},
            headers=self.headers[clerk],
        )
        if bad:
            assert r.status_code == 422 and r.json()["code"] == "CARD_REFUSED", r.text
            self.count(outlet, "card_refused")
        else:
            assert r.status_code == 200, r.text

    def capture(self, sid: str, clerk: str, outlet: str, clip: bytes, took: float) -> str:
        nonce = self.post(f"/api/v1/sessions/{sid}/challenge", clerk)["nonce"]
        self.clock.advance(took)
        r = self.client.post(
            f"/api/v1/sessions/{sid}/capture",
            data={"nonce": nonce},
            files={"clip": ("clip.webm", clip, "video/webm")},
            headers=self.headers[clerk],
        )
        assert r.status_code == 200, r.text
        body = r.json()
        key = self.key(outlet)
        self.ledger.capture_times[key].append(took)
        self.count(outlet, "captures")
        verdict = str(body["verdict"])
        if verdict == "passed":
            self.count(outlet, "passed")
        elif verdict == "review":
            self.count(outlet, "sent_to_review")
        else:
            self.count(outlet, "failed")
            self.ledger.reasons[key].update(body["reasons"])
        return verdict

    def decide(self, sid: str, supervisor: str, outlet: str, approve: bool) -> None:
        queue = self.client.get("/api/v1/reviews", headers=self.headers[supervisor]).json()
        (item,) = [x for x in queue if x["session_id"] == sid]
        self.post(
            f"/api/v1/reviews/{item['id']}/decision",
            supervisor,
            json={"approve": approve, "reason": "checked the evidence"},
        )
        outcome = "approved" if approve else "rejected"
        self.count(outlet, f"review_{outcome}")
        self.ledger.reviews_by[self.key(outlet)][supervisor][outcome] += 1

    def bind(self, sid: str, clerk: str, outlet: str) -> str:
        msisdn = self.new_msisdn()
        self.post("/api/v1/subscriptions", clerk, json={"session_id": sid, "msisdn": msisdn})
        self.count(outlet, "numbers_bound")
        return msisdn

    def end(self, msisdn: str, clerk: str, outlet: str) -> None:
        r = self.client.delete(
            f"/api/v1/subscriptions/{msisdn}",
            params={"reason": "customer request"},
            headers=self.headers[clerk],
        )
        assert r.status_code == 200, r.text
        self.count(outlet, "numbers_ended")

    def dispute(self, id_number: str) -> None:
        """The holder of ``id_number`` looks up their numbers and says the first is not theirs."""
        r = self.client.post(
            "/api/v1/citizen/lookups",
            data={"id_number": id_number, "biometric_consent": "true"},
            files={"portrait": ("p.png", portrait_png(), "image/png")},
        )
        assert r.status_code == 201, r.text
        lookup = r.json()
        token = {"X-Lookup-Token": lookup["token"]}
        base = f"/api/v1/citizen/lookups/{lookup['id']}"
        nonce = self.client.post(f"{base}/challenge", headers=token).json()["nonce"]
        self.clock.advance(12)
        r = self.client.post(
            f"{base}/capture",
            data={"nonce": nonce},
            files={"clip": ("clip.webm", b"PASS", "video/webm")},
            headers=token,
        )
        assert r.status_code == 200 and r.json()["verdict"] == "passed", r.text
        (number,) = r.json()["numbers"]
        r = self.client.post(
            f"{base}/disputes", json={"ref": number["ref"], "note": "not mine"}, headers=token
        )
        assert r.status_code == 201, r.text

    def registration(
        self,
        outlet: str,
        clerks: tuple[str, str],
        clips: tuple[bytes, ...] = (b"PASS",),
        approve: bool | None = None,
        bind: bool = True,
        id_number: str | None = None,
        step: float = 40,
    ) -> tuple[str, str | None]:
        """One customer: each clip is a capture; a review is decided by ``approve``."""
        clerk, supervisor = clerks
        sid = self.start(outlet, clerk)
        self.clock.advance(step)
        self.card(sid, clerk, id_number or self.new_id(), outlet)
        verdict = ""
        for i, clip in enumerate(clips):
            self.clock.advance(5)
            verdict = self.capture(sid, clerk, outlet, clip, CAPTURE_S[i % len(CAPTURE_S)])
        if verdict == "review" and approve is not None:
            self.clock.advance(60)
            self.decide(sid, supervisor, outlet, approve)
            verdict = "approved" if approve else "rejected"
        msisdn = None
        if bind and verdict in ("passed", "approved"):
            self.clock.advance(20)
            msisdn = self.bind(sid, clerk, outlet)
        return sid, msisdn


def _people(seeded: Seeded) -> None:
    ctx, actor = seeded.ctx, Actor("seed")
    now = seeded.clock.now
    for i in range(1, OUTLETS + 1):
        info = create_outlet(ctx.database, ctx.audit, actor, f"O{i}", now, HOURS)
        seeded.outlets[f"O{i}"] = str(info.id)
        for name, role, employee in (
            (f"clerk{i}", "clerk", f"E-{i}c"),
            (f"sup{i}", "supervisor", f"E-{i}s"),
        ):
            create_user(
                ctx.database,
                ctx.audit,
                actor,
                username=name,
                password=PASSWORD,
                role=role,
                outlet=f"O{i}",
                now=now,
                employee=employee,
            )
    # O4's supervisor also holds a clerk account (the same employee).
    create_user(
        ctx.database,
        ctx.audit,
        actor,
        username="clerk4b",
        password=PASSWORD,
        role="clerk",
        outlet="O4",
        now=now,
        employee="E-4s",
    )
    create_user(
        ctx.database,
        ctx.audit,
        actor,
        username="auditor",
        password=PASSWORD,
        role="auditor",
        outlet=None,
        now=now,
    )
    names = [*(f"clerk{i}" for i in range(1, 10)), *(f"sup{i}" for i in range(1, 10))]
    for name in (*names, "clerk4b", "auditor"):
        r = seeded.client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        seeded.headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}


def _baseline(seeded: Seeded, i: int, day: date, d: int) -> None:
    outlet, staff = f"O{i}", (f"clerk{i}", f"sup{i}")
    seeded.at(local(day, 10, i))
    for _ in range(4):
        seeded.registration(outlet, staff)
        seeded.clock.advance(600)
    seeded.registration(outlet, staff, clips=(b"FAIL", b"PASS"))
    for k in range(2):
        seeded.clock.advance(600)
        approve = True if i == 1 else (d * 2 + k + i) % 2 == 0
        seeded.registration(outlet, staff, clips=(b"REVIEW",), approve=approve)
    if d == 0:  # one card refused (expired), then the customer's current card
        seeded.clock.advance(600)
        sid = seeded.start(outlet, staff[0])
        id_number = seeded.new_id()
        seeded.card(sid, staff[0], id_number, outlet, bad=True)
        seeded.card(sid, staff[0], id_number, outlet)
        seeded.clock.advance(5)
        seeded.capture(sid, staff[0], outlet, b"PASS", 12)
        seeded.bind(sid, staff[0], outlet)
    if d == 2:
        seeded.clock.advance(600)
        seeded.start(outlet, staff[0], consent=False)


def _plant(seeded: Seeded) -> None:
    led = seeded.ledger
    day = FIRST_DAY + timedelta(days=2)
    # O1: ten more review cases, all approved (20 of 20 over the week).
    seeded.at(local(day, 17))
    for _ in range(10):
        sid, _ = seeded.registration("O1", ("clerk1", "sup1"), clips=(b"REVIEW",), approve=True)
        seeded.clock.advance(300)
    led.planted["approval_rate"].add("O1")
    led.planted["approves_all"].add("O1")
    # O2: twelve more customers sent down the manual path.
    seeded.at(local(day, 18))
    for _ in range(12):
        led.sessions["manual_rate"].add(seeded.start("O2", "clerk2", consent=False))
        seeded.clock.advance(300)
    led.planted["manual_rate"].add("O2")
    # O3: two numbers bound at 23:30 local.
    seeded.at(local(day, 23, 30))
    for _ in range(2):
        sid, _ = seeded.registration("O3", ("clerk3", "sup3"), step=10)
        led.sessions["out_of_hours"].add(sid)
    led.planted["out_of_hours"].add("O3")
    # O4: sup4's own clerk account's case, approved by sup4.
    seeded.at(local(day, 19))
    sid, _ = seeded.registration("O4", ("clerk4b", "sup4"), clips=(b"REVIEW",), approve=True)
    led.sessions["self_approval"].add(sid)
    led.planted["self_approval"].add("O4")
    # O5 and O3: one ID fails three captures at each, 200 s apart (never five in the
    # lock-out's 180 s window).
    stolen = seeded.new_id()
    for outlet, clerk, hour in (("O5", "clerk5", 14), ("O3", "clerk3", 16)):
        seeded.at(local(day + timedelta(days=1), hour))
        sid = seeded.start(outlet, clerk)
        seeded.card(sid, clerk, stolen, outlet)
        for _ in range(3):
            seeded.clock.advance(200)
            seeded.capture(sid, clerk, outlet, b"MISMATCH", 12)
        led.sessions["id_failures"].add(sid)
        led.planted["id_failures"].add(outlet)
    # O6: three numbers ended an hour after they were bound.
    seeded.at(local(day, 12, 30))
    for _ in range(3):
        sid, msisdn = seeded.registration("O6", ("clerk6", "sup6"))
        assert msisdn is not None
        seeded.clock.advance(3600)
        seeded.end(msisdn, "clerk6", "O6")
        led.sessions["quick_end"].add(sid)
    led.planted["quick_end"].add("O6")
    # O7: four captures passed ten seconds apart by one clerk (sessions opened beforehand).
    seeded.at(local(day, 15, 30))
    opened = []
    for _ in range(4):
        sid = seeded.start("O7", "clerk7")
        seeded.card(sid, "clerk7", seeded.new_id(), "O7")
        opened.append(sid)
    seeded.clock.advance(60)
    for sid in opened:
        seeded.capture(sid, "clerk7", "O7", b"PASS", 5)
        seeded.clock.advance(5)
        led.sessions["burst"].add(sid)
    led.planted["burst"].add("O7")
    # O8: one ID locked: five failures within the lock-out window (3 + 2 in two sessions).
    seeded.at(local(day, 16, 45))
    locked = seeded.new_id()
    for captures in (3, 2):
        sid = seeded.start("O8", "clerk8")
        seeded.card(sid, "clerk8", locked, "O8")
        for _ in range(captures):
            seeded.clock.advance(5)
            seeded.capture(sid, "clerk8", "O8", b"FAIL", 10)
    seeded.count("O8", "lockouts")
    # O8: a number its holder says is not theirs (a citizen look-up, then a dispute).
    seeded.at(local(day, 11))
    holder = seeded.new_id()
    sid, msisdn = seeded.registration("O8", ("clerk8", "sup8"), id_number=holder)
    seeded.at(local(day + timedelta(days=1), 20))
    seeded.dispute(holder)
    led.sessions["disputes"].add(sid)
    led.planted["disputes"].add("O8")


def seed(database_url: str) -> Generator[Seeded, None, None]:
    """Build the seeded service (a generator: the app stops after the ``yield``)."""
    clock = Clock()
    clock.now = local(FIRST_DAY, 8)
    verifier = FakeVerifier()
    settings = make_settings(database_url, token_ttl_s=30 * 86400)
    app = create_app(
        settings, verifier=verifier, enroller=verifier.enrol, clock=clock, periodic_tasks=False
    )
    try:
        with TestClient(app) as client:
            seeded = Seeded(client, clock, Ledger(), {}, {}, app.state.ctx)
            _people(seeded)
            for d in range(DAYS):
                for i in range(1, OUTLETS + 1):
                    _baseline(seeded, i, FIRST_DAY + timedelta(days=d), d)
            _plant(seeded)
            seeded.at(local(FIRST_DAY + timedelta(days=DAYS + 1), 9))
            yield seeded
    finally:
        verifier.release.set()
