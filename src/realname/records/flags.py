"""Anomaly flags for inspection (issue 15): the patterns of an outlet or a clerk cutting corners,
read from the audit log, each with one sentence, the figures behind it and the sessions it
concerns.

* ``approval_rate`` / ``manual_rate``: an outlet whose review-approval rate (approved of decided)
  or manual-path rate (consent refused of sessions started) stands far above its peers. The score
  is robust: the outlet's distance from the median of the OTHER outlets, in units of their
  scaled median absolute deviation (1.4826 MAD estimates a standard deviation), never smaller
  than the binomial standard error of the outlet's own rate at the peers' median (so identical
  peers do not make a tiny difference infinite, and a handful of cases does not make a flag).
* ``out_of_hours``: numbers bound outside the outlet's opening hours.
* ``self_approval``: a supervisor deciding a review case opened by a clerk account of the same
  employee. ``approves_all``: a supervisor approving nearly every case.
* ``id_failures``: many failed captures for one ID, across outlets.
* ``quick_end``: numbers bound and ended within a short time (the SIM-farm pattern).
* ``burst``: one clerk's passed captures following each other faster than a registration can
  be done.
* ``disputes``: numbers of the outlet that their holder said are not theirs (一证通查),
  counted whatever their answer (an outlet's supervisor dismissing them does not clear the
  flag); its figures say how many are open, upheld and dismissed.

Thresholds come in :class:`FlagRules` (the service's settings, documented there); this module
holds no number of its own. Pure: no database.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from realname.records.audit import AuditEntry
from realname.records.reports import entry_outlet, local_time

__all__ = ["FLAG_KINDS", "Flag", "FlagRules", "OutletHours", "find_flags", "parse_hours"]

FLAG_KINDS = (
    "approval_rate",
    "manual_rate",
    "out_of_hours",
    "self_approval",
    "approves_all",
    "id_failures",
    "quick_end",
    "burst",
    "disputes",
)
MAD_TO_SD = 1.4826  # the MAD of a normal distribution times this is its standard deviation


@dataclass(frozen=True, slots=True)
class FlagRules:
    robust_z: float
    min_cases: int
    min_peers: int
    approves_all_share: float
    approves_all_min: int
    id_failures_min: int
    id_failures_outlets: int
    quick_end_s: float
    quick_end_min: int
    burst_gap_s: float
    burst_min: int
    disputes_min: int


@dataclass(frozen=True, slots=True)
class OutletHours:
    opens: time
    closes: time

    def holds(self, moment: time) -> bool:
        if self.opens <= self.closes:
            return self.opens <= moment < self.closes
        return moment >= self.opens or moment < self.closes  # open past midnight


def parse_hours(text: str | None) -> OutletHours | None:
    """``09:00-21:00`` (local time) or None."""
    if not text:
        return None
    opens, _, closes = text.partition("-")
    return OutletHours(time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip()))


@dataclass(frozen=True, slots=True)
class Flag:
    kind: str
    outlet: str
    sentence: str
    figures: Mapping[str, Any]
    sessions: tuple[str, ...]
    subject: str = ""  # the clerk, supervisor or ID key concerned, if any

    @property
    def id(self) -> str:
        """Stable while its evidence is the same; new evidence makes a new flag."""
        text = "|".join((self.kind, self.outlet, self.subject, *sorted(self.sessions)))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "outlet": self.outlet,
            "sentence": self.sentence,
            "figures": dict(self.figures),
            "sessions": list(self.sessions),
        }


@dataclass(slots=True)
class _Facts:
    """What the entries say, by session and by outlet."""

    session_outlet: dict[str, str] = field(default_factory=dict)
    session_clerk: dict[str, str] = field(default_factory=dict)
    started: Counter[str] = field(default_factory=Counter)
    manual: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    decisions: dict[str, list[AuditEntry]] = field(default_factory=lambda: defaultdict(list))
    binds: list[tuple[AuditEntry, datetime]] = field(default_factory=list)
    ends: list[tuple[AuditEntry, datetime]] = field(default_factory=list)
    failures: list[AuditEntry] = field(default_factory=list)
    passes: list[tuple[AuditEntry, datetime]] = field(default_factory=list)
    disputes: list[AuditEntry] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)  # dispute id -> upheld | dismissed


def _facts(entries: Iterable[AuditEntry], start: date, end: date, offset: timedelta) -> _Facts:
    facts = _Facts()
    for entry in entries:
        session_id = entry.objects.get("session", "")
        if entry.action in ("session.create", "session.consent_refused"):
            facts.session_outlet[session_id] = entry_outlet(entry)
            facts.session_clerk[session_id] = entry.actor
        elif entry.action == "dispute.answer":  # answered by the period's end
            facts.answers[entry.objects.get("dispute", "")] = entry.outcome
        at = local_time(entry, offset)
        if not start <= at.date() <= end:
            continue
        outlet = entry_outlet(entry)
        if entry.action in ("session.create", "session.consent_refused"):
            facts.started[outlet] += 1
            if entry.action == "session.consent_refused":
                facts.manual[outlet].append(session_id)
        elif entry.action == "review.decision":
            facts.decisions[outlet].append(entry)
        elif entry.action == "number.bind":
            facts.binds.append((entry, at))
        elif entry.action == "number.deregister":
            facts.ends.append((entry, at))
        elif entry.action == "capture.verdict" and entry.outcome == "failed":
            facts.failures.append(entry)
        elif entry.action == "capture.verdict" and entry.outcome == "passed":
            facts.passes.append((entry, at))
        elif entry.action == "citizen.dispute" and entry.outcome == "opened":
            facts.disputes.append(entry)
    return facts


def _robust(rates: Mapping[str, tuple[int, int]], rules: FlagRules) -> dict[str, dict[str, Any]]:
    """Outlets whose rate (hits of cases) stands ``robust_z`` above their peers."""
    eligible = {o: hc for o, hc in rates.items() if hc[1] >= rules.min_cases}
    found: dict[str, dict[str, Any]] = {}
    for outlet, (hits, cases) in eligible.items():
        peers = [h / c for o, (h, c) in eligible.items() if o != outlet]
        if len(peers) < rules.min_peers:
            continue
        centre = statistics.median(peers)
        mad = statistics.median(abs(p - centre) for p in peers)
        standard_error = math.sqrt(max(centre * (1 - centre), 1 / cases) / cases)
        scale = max(MAD_TO_SD * mad, standard_error)
        rate = hits / cases
        score = (rate - centre) / scale
        if score >= rules.robust_z:
            found[outlet] = {
                "rate": round(rate, 4),
                "cases": cases,
                "peers_median": round(centre, 4),
                "peers_scale": round(scale, 4),
                "score": round(score, 2),
                "threshold": rules.robust_z,
                "peers": len(peers),
            }
    return found


def _rate_flags(facts: _Facts, rules: FlagRules, names: Mapping[str, str]) -> list[Flag]:
    flags = []
    approvals = {
        o: (sum(e.outcome == "approved" for e in d), len(d)) for o, d in facts.decisions.items()
    }
    for outlet, figures in _robust(approvals, rules).items():
        sessions = tuple(e.objects.get("session", "") for e in facts.decisions[outlet])
        flags.append(
            Flag(
                "approval_rate",
                outlet,
                f"{names.get(outlet, outlet)} approved {figures['rate']:.0%} of its "
                f"{figures['cases']} review cases, against {figures['peers_median']:.0%} at the "
                f"median of {figures['peers']} other outlets (robust score {figures['score']}).",
                figures,
                sessions,
            )
        )
    manual = {o: (len(facts.manual.get(o, [])), n) for o, n in facts.started.items()}
    for outlet, figures in _robust(manual, rules).items():
        flags.append(
            Flag(
                "manual_rate",
                outlet,
                f"{names.get(outlet, outlet)} sent {figures['rate']:.0%} of its "
                f"{figures['cases']} customers down the manual path (no face check), against "
                f"{figures['peers_median']:.0%} at the median of its peers "
                f"(robust score {figures['score']}).",
                figures,
                tuple(facts.manual[outlet]),
            )
        )
    return flags


def _hours_flags(
    facts: _Facts, hours: Mapping[str, OutletHours], names: Mapping[str, str]
) -> list[Flag]:
    outside: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for entry, at in facts.binds:
        outlet = entry_outlet(entry)
        window = hours.get(outlet)
        if window is not None and not window.holds(at.time()):
            outside[outlet].append((entry.objects.get("session", ""), at))
    flags = []
    for outlet, found in sorted(outside.items()):
        window = hours[outlet]
        times = sorted(at.strftime("%Y-%m-%d %H:%M") for _, at in found)
        flags.append(
            Flag(
                "out_of_hours",
                outlet,
                f"{len(found)} number(s) were bound at {names.get(outlet, outlet)} outside its "
                f"opening hours ({window.opens:%H:%M}-{window.closes:%H:%M}, local time).",
                {
                    "count": len(found),
                    "opening_hours": f"{window.opens:%H:%M}-{window.closes:%H:%M}",
                    "times": times,
                },
                tuple(s for s, _ in found),
            )
        )
    return flags


def _supervisor_flags(
    facts: _Facts, rules: FlagRules, employees: Mapping[str, str], names: Mapping[str, str]
) -> list[Flag]:
    flags = []
    by_supervisor: dict[tuple[str, str], list[AuditEntry]] = defaultdict(list)
    for outlet, decisions in facts.decisions.items():
        for entry in decisions:
            by_supervisor[(entry.actor, outlet)].append(entry)
    for (who, outlet), decisions in sorted(by_supervisor.items()):
        own = [
            e.objects.get("session", "")
            for e in decisions
            if (clerk := facts.session_clerk.get(e.objects.get("session", "")))
            and employees.get(who)
            and employees.get(clerk) == employees.get(who)
        ]
        if own:
            flags.append(
                Flag(
                    "self_approval",
                    outlet,
                    f"Supervisor {who} decided {len(own)} review case(s) that their own clerk "
                    f"account opened at {names.get(outlet, outlet)}.",
                    {"supervisor": who, "employee": employees[who], "cases": len(own)},
                    tuple(own),
                    subject=who,
                )
            )
        approved = [e for e in decisions if e.outcome == "approved"]
        share = len(approved) / len(decisions)
        if len(decisions) >= rules.approves_all_min and share >= rules.approves_all_share:
            flags.append(
                Flag(
                    "approves_all",
                    outlet,
                    f"Supervisor {who} approved {len(approved)} of {len(decisions)} review "
                    f"cases ({share:.0%}) at {names.get(outlet, outlet)}.",
                    {
                        "supervisor": who,
                        "approved": len(approved),
                        "decided": len(decisions),
                        "share": round(share, 4),
                        "threshold": rules.approves_all_share,
                    },
                    tuple(e.objects.get("session", "") for e in approved),
                    subject=who,
                )
            )
    return flags


def _id_flags(
    facts: _Facts, rules: FlagRules, id_keys: Mapping[str, str], names: Mapping[str, str]
) -> list[Flag]:
    by_id: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in facts.failures:
        key = id_keys.get(entry.objects.get("session", ""))
        if key:
            by_id[key].append(entry)
    flags = []
    for key, failures in sorted(by_id.items()):
        outlets = sorted({entry_outlet(e) for e in failures})
        if len(failures) < rules.id_failures_min or len(outlets) < rules.id_failures_outlets:
            continue
        sessions = tuple(dict.fromkeys(e.objects.get("session", "") for e in failures))
        where = ", ".join(names.get(o, o) for o in outlets)
        for outlet in outlets:
            flags.append(
                Flag(
                    "id_failures",
                    outlet,
                    f"One ID failed {len(failures)} captures at {len(outlets)} outlets "
                    f"({where}): someone may be trying faces against a stolen card.",
                    {"failures": len(failures), "outlets": outlets},
                    sessions,
                    subject=key[:16],
                )
            )
    return flags


def _quick_end_flags(facts: _Facts, rules: FlagRules, names: Mapping[str, str]) -> list[Flag]:
    bound = {e.objects.get("session", ""): at for e, at in facts.binds}
    quick: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for entry, at in facts.ends:
        session_id = entry.objects.get("session", "")
        if session_id in bound:
            held = (at - bound[session_id]).total_seconds()
            if held <= rules.quick_end_s:
                quick[entry_outlet(entry)].append((session_id, held))
    flags = []
    for outlet, found in sorted(quick.items()):
        if len(found) < rules.quick_end_min:
            continue
        hours = rules.quick_end_s / 3600
        flags.append(
            Flag(
                "quick_end",
                outlet,
                f"{len(found)} numbers bound at {names.get(outlet, outlet)} were ended within "
                f"{hours:g} h of being bound (the SIM-farm pattern).",
                {
                    "count": len(found),
                    "within_s": rules.quick_end_s,
                    "held_s": sorted(round(h) for _, h in found),
                },
                tuple(s for s, _ in found),
            )
        )
    return flags


def _burst_flags(facts: _Facts, rules: FlagRules, names: Mapping[str, str]) -> list[Flag]:
    by_clerk: dict[tuple[str, str], list[tuple[str, datetime]]] = defaultdict(list)
    for entry, at in facts.passes:
        by_clerk[(entry.actor, entry_outlet(entry))].append((entry.objects.get("session", ""), at))
    flags = []
    for (clerk, outlet), passes in sorted(by_clerk.items()):
        passes.sort(key=lambda p: p[1])
        runs: list[list[tuple[str, datetime]]] = [[passes[0]]]
        for item in passes[1:]:
            gap = (item[1] - runs[-1][-1][1]).total_seconds()
            if gap < rules.burst_gap_s:
                runs[-1].append(item)
            else:
                runs.append([item])
        for run in runs:
            if len(run) < rules.burst_min:
                continue
            span = (run[-1][1] - run[0][1]).total_seconds()
            flags.append(
                Flag(
                    "burst",
                    outlet,
                    f"Clerk {clerk} completed {len(run)} captures at "
                    f"{names.get(outlet, outlet)} within {span:.0f} s, each less than "
                    f"{rules.burst_gap_s:g} s after the one before: faster than a customer can "
                    "be registered.",
                    {
                        "clerk": clerk,
                        "captures": len(run),
                        "span_s": round(span, 1),
                        "gap_s": rules.burst_gap_s,
                        "from": run[0][1].isoformat(sep=" "),
                    },
                    tuple(s for s, _ in run),
                    subject=clerk,
                )
            )
    return flags


def _dispute_flags(facts: _Facts, rules: FlagRules, names: Mapping[str, str]) -> list[Flag]:
    by_outlet: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in facts.disputes:
        by_outlet[entry_outlet(entry)].append(entry)
    flags = []
    for outlet, disputes in sorted(by_outlet.items()):
        if len(disputes) < rules.disputes_min:
            continue
        ids = [e.objects.get("dispute", "") for e in disputes]
        flags.append(
            Flag(
                "disputes",
                outlet,
                f"{len(disputes)} number(s) bound at {names.get(outlet, outlet)} were reported "
                "by the ID's holder as not theirs.",
                {
                    "count": len(disputes),
                    "open": sum(facts.answers.get(i) is None for i in ids),
                    "upheld": sum(facts.answers.get(i) == "upheld" for i in ids),
                    "dismissed": sum(facts.answers.get(i) == "dismissed" for i in ids),
                    "disputes": ids,
                },
                tuple(e.objects.get("session", "") for e in disputes),
            )
        )
    return flags


def find_flags(
    entries: Sequence[AuditEntry],
    *,
    start: date,
    end: date,
    rules: FlagRules,
    utc_offset: timedelta = timedelta(hours=8),
    names: Mapping[str, str] | None = None,
    hours: Mapping[str, OutletHours] | None = None,
    employees: Mapping[str, str] | None = None,
    id_keys: Mapping[str, str] | None = None,
) -> list[Flag]:
    """Every flag over the local days ``start``..``end``. ``entries`` may begin earlier (the
    sessions' openings are read from them); ``employees`` maps usernames to employee refs,
    ``id_keys`` sessions to a pseudonymous key of their ID (never the number)."""
    names = names or {}
    facts = _facts(entries, start, end, utc_offset)
    return [
        *_rate_flags(facts, rules, names),
        *_hours_flags(facts, hours or {}, names),
        *_supervisor_flags(facts, rules, employees or {}, names),
        *_id_flags(facts, rules, id_keys or {}, names),
        *_quick_end_flags(facts, rules, names),
        *_burst_flags(facts, rules, names),
        *_dispute_flags(facts, rules, names),
    ]
