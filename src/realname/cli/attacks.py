"""``eval attacks``: the universal recording against the challenge rules, and with ``--data``
every live clip replayed unchanged, prompted genuine users, and the candidate relaxations of
the unprompted-action rule. Registered on the ``eval`` sub-app by :mod:`realname.cli.evaluate`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from realname.cli.common import (
    console,
    load_liveness_runtime,
    one_line_errors,
    percent,
    progress_bar,
    require_output,
)
from realname.errors import InputError
from realname.settings import Settings

__all__ = ["eval_attacks"]


def eval_attacks(
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON")
    ] = None,
    draws: Annotated[
        int, typer.Option(min=100, help="Challenges drawn for the prompt-locked rule")
    ] = 100_000,
    phases: Annotated[int, typer.Option(min=1, help="Phases tried per loop rate")] = 24,
    steps: Annotated[int, typer.Option(min=2, help="Steps per challenge")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the drawn challenges")] = 0,
    clip: Annotated[
        str,
        typer.Option(
            help="policy: every clip lasts prompts.capture_s; schedule: each ends tail_s after "
            "its last window"
        ),
    ] = "policy",
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder laid out as ../shared/data: also replay every live clip as a recording "
            "and simulate genuine users following prompts on the labelled ones"
        ),
    ] = None,
    trials: Annotated[
        int, typer.Option(min=10, help="Reaction-time draws per clip for prompted genuine users")
    ] = 1000,
    tolerances: Annotated[
        bool,
        typer.Option(
            "--tolerances",
            help="With --data: also measure candidate relaxations of the unprompted-action rule "
            "on both sides (prompted BPCER, worst replay, universal loop with sizes chosen by "
            "the attacker)",
        ),
    ] = False,
) -> None:
    """The universal recording (a loop of every action, 0.5-2 a second, any phase) against the
    order-only and the prompt-locked challenge rules, on event timelines (no data needed); with
    ``--data``, every live clip replayed unchanged, and prompted genuine users (BPCER)."""
    with one_line_errors():
        _check_inputs(data, json_out, tolerances=tolerances)
        policy, result = _universal_recording(
            steps=steps, draws=draws, phases=phases, seed=seed, clip=clip
        )
    _print_universal_recording(result, policy, steps=steps, draws=draws, clip=clip)
    payload = result.to_dict()
    if data is not None:
        payload |= _eval_clip_attacks(
            data, draws=draws, seed=seed, trials=trials, tolerances=tolerances
        )
    if json_out:
        json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_out}")


def _check_inputs(data: Path | None, json_out: Path | None, *, tolerances: bool) -> None:
    """Usage errors before any work: a missing data folder, an unwritable output,
    ``--tolerances`` without ``--data``."""
    if data is not None and not data.is_dir():
        raise InputError(f"data folder {data} does not exist")
    if tolerances and data is None:
        raise InputError("--tolerances needs --data")
    require_output(json_out)


def _universal_recording(
    *, steps: int, draws: int, phases: int, seed: int, clip: str
) -> tuple[Any, Any]:
    """The configured policy, and the universal recording evaluated against its prompts."""
    from realname.evaluation.attacks import evaluate_universal_recording
    from realname.policy import load_policy

    policy = load_policy(Settings().policy_file)
    if policy.liveness is None:
        raise InputError(f"policy {policy.version} has no liveness section")
    if clip not in ("policy", "schedule"):
        raise InputError(f"--clip must be policy or schedule, not {clip!r}")
    live = policy.liveness
    result = evaluate_universal_recording(
        live.prompts,
        step_timeout_s=live.step_timeout_s,
        policy_version=policy.version,
        steps=steps,
        draws=draws,
        phases=phases,
        seed=seed,
        clip=clip,
    )
    return policy, result


def _print_universal_recording(
    result: Any, policy: Any, *, steps: int, draws: int, clip: str
) -> None:
    from realname.evaluation.attacks import upper_95

    table = Table(title=f"universal recording, {steps}-step challenges, worst phase per rate")
    for column in ("actions/s", "order-only pass", "phase (s)", "prompt-locked pass", "phase (s)"):
        table.add_column(column, justify="right")
    for rate, (old, new) in result.by_rate().items():
        table.add_row(
            f"{rate:.2f}",
            f"{old.old_passed}/{old.old_total}",
            f"{old.phase_s:.2f}",
            f"{new.new_passed}/{new.new_total}",
            f"{new.phase_s:.2f}",
        )
    console.print(table)
    old, new = result.worst_old, result.worst_new
    console.print(
        f"worst case, order-only rule ({result.old_clip_s:.1f} s clip, every challenge): "
        f"{old.old_rate:.4f} at {old.rate:.2f} actions/s, phase {old.phase_s:.2f} s"
    )
    where = (
        f"at {new.rate:.2f} actions/s, phase {new.phase_s:.2f} s"
        if new.new_passed
        else f"no draw passed at any of the {len(result.cells)} loops"
    )
    console.print(
        f"worst case, prompt-locked rule ({draws} draws, clip: {clip}): {new.new_rate:.2e} "
        f"{where}; 95% upper bound {upper_95(new.new_passed, new.new_total):.1e} "
        f"(policy {policy.version}, {result.seconds:.0f} s)"
    )


def _eval_clip_attacks(
    data: Path, *, draws: int, seed: int, trials: int, tolerances: bool = False
) -> dict[str, Any]:
    """``eval attacks --data``: the per-clip replay and the prompted genuine users, printed;
    their results as JSON keys ``clip_replays`` and ``prompted_genuine`` (and ``tolerances``)."""
    from realname.evaluation.attacks import (
        evaluate_clip_replays,
        evaluate_prompted_genuine,
        measure_clip_events,
    )

    with one_line_errors():
        engines, policy = load_liveness_runtime()
        live = policy.liveness
        t0 = time.perf_counter()
        with progress_bar("events per live clip") as update:
            clips = measure_clip_events(data, engines, policy, progress=update)
        measured_s = time.perf_counter() - t0
        replays = evaluate_clip_replays(
            clips,
            live.prompts,
            step_timeout_s=live.step_timeout_s,
            policy_version=policy.version,
            draws=draws,
            seed=seed,
        )
        genuine = evaluate_prompted_genuine(
            clips, live.prompts, policy_version=policy.version, trials=trials, seed=seed
        )
    _print_clip_replays(replays, draws=draws)
    summary = _print_prompted_genuine(genuine, trials=trials)
    console.print(f"events measured in {measured_s:.0f} s (policy {policy.version})")
    out = {
        "events_seconds": round(measured_s, 1),
        "clip_replays": replays.to_dict(),
        "prompted_genuine": summary,
    }
    if tolerances:
        out["tolerances"] = _eval_tolerances(clips, policy, seed=seed)
    return out


def _print_clip_replays(replays: Any, *, draws: int) -> None:
    from realname.evaluation.attacks import upper_95

    table = Table(title=f"live clips replayed unchanged ({draws} drawn schedules per clip)")
    for column in ("clip", "s", "events", "order-only pass", "prompt-locked pass", "unprompted"):
        table.add_column(column, justify="right")
    for r in sorted(replays.rows, key=lambda r: (-r.new_rate, -r.old_rate, r.path)):
        table.add_row(
            r.path,
            f"{r.duration_s:.1f}",
            str(r.events),
            f"{r.old_passed}/{r.old_total}",
            f"{r.new_passed}/{r.new_total}",
            f"{r.new_unprompted}",
        )
    console.print(table)
    old, new = replays.worst_old, replays.worst_new
    console.print(
        f"worst clip of {len(replays.rows)} replayed ({len(replays.refused)} refused as uploads): "
        f"order-only rule {old.old_rate:.4f} ({old.path}); prompt-locked rule "
        f"{new.new_rate:.2e} "
        f"({new.path if new.new_passed else 'no clip passed any draw'}), 95% upper bound "
        f"{upper_95(new.new_passed, new.new_total):.1e}"
    )


def _print_prompted_genuine(genuine: Any, *, trials: int) -> dict[str, Any]:
    """The prompted genuine users' table and summary, printed; the summary returned."""
    rt = genuine.reaction
    table = Table(
        title=f"genuine users following prompts (simulated: reaction ex-Gaussian mu {rt.mu_s} s, "
        f"sigma {rt.sigma_s} s, tau {rt.tau_s} s; {trials} trials per clip)"
    )
    for column in ("clip", "actions", "onset gaps (s)", "passed", "missed", "unprompted", "which"):
        table.add_column(column, justify="right")
    for g in sorted(genuine.rows, key=lambda g: (-g.fail_rate, g.path)):
        gaps = "-" if g.min_gap_s is None else f"{g.min_gap_s:.2f}-{g.max_gap_s:.2f}"
        if not g.found:
            gaps = g.refused or "not found"
        table.add_row(
            g.path,
            ",".join(g.actions),
            gaps,
            f"{g.passed}/{g.trials}",
            str(g.missed),
            str(g.unprompted),
            ",".join(g.unprompted_actions),
        )
    console.print(table)
    summary: dict[str, Any] = genuine.to_dict()
    console.print(
        f"prompted BPCER {percent(genuine.bpcer)} over {len(genuine.rows)} labelled live clips "
        f"({summary['expected_rejections']:.2f} expected rejections; "
        f"{summary['clips_always_failing']} fail every trial, "
        f"{summary['clips_always_passing']} pass every trial; "
        f"{summary['clips_not_found']} with a labelled action not detected); "
        f"{len(genuine.close())} clips with labelled actions closer than the "
        f"{genuine.gap_s[0]} s shortest gap, "
        f"{len(summary['clips_wider_than_max_gap'])} wider than the {genuine.gap_s[1]} s longest; "
        f"BPCER on the clips within the gaps {percent(genuine.bpcer_within_gaps())}; trials "
        f"with a step missed {percent(genuine.bpcer_missed)}, with an unprompted action "
        f"{percent(genuine.bpcer_unprompted)} (a trial may have both)"
    )
    return summary


def _eval_tolerances(clips: Any, policy: Any, *, seed: int) -> list[dict[str, Any]]:
    from realname.evaluation.attacks import upper_95
    from realname.evaluation.tolerance import evaluate_tolerances

    live = policy.liveness
    rows, seconds = evaluate_tolerances(clips, live.prompts, live.actions, seed=seed)
    table = Table(
        title="candidate relaxations of the unprompted-action rule (none ships; "
        "target: BPCER <= 4%, every pass <= 1e-3)"
    )
    for column in ("rule", "prompted BPCER", "worst replay", "pass", "worst loop", "pass"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r.name,
            percent(r.bpcer),
            r.worst_replay,
            f"{r.replay_passed}/{r.replay_draws} "
            f"(<= {upper_95(r.replay_passed, r.replay_draws):.1e})",
            r.worst_loop,
            f"{r.loop_passed}/{r.loop_draws} (<= {upper_95(r.loop_passed, r.loop_draws):.1e})",
        )
    console.print(table)
    console.print(f"relaxations measured in {seconds:.0f} s")
    return [r.to_dict() for r in rows]
