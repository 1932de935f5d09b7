"""One-off checks of files: ``match`` (portrait against live images), ``liveness`` (a clip)
and ``verify`` (quality, liveness and match in one verdict). Each exits 0 when its result
passed, 1 when it did not (a result, printed), 2 for an unusable input or usage and 3 when it
cannot run (see :mod:`realname.cli.common`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from realname.cli.common import (
    EngineOpt,
    console,
    err_console,
    exit_unless,
    load_liveness_engines,
    load_liveness_policy,
    load_runtime,
    one_line_errors,
    require_engine,
    require_file,
    require_fmr,
    require_output,
    shown,
)
from realname.errors import InputError
from realname.settings import Settings

if TYPE_CHECKING:
    from realname.liveness.challenge import Challenge
    from realname.verify import Verification

__all__ = ["LIVENESS_HELP", "VERIFY_HELP", "liveness", "match", "run_match", "verify"]

ChallengeOpt = Annotated[
    str, typer.Option("--challenge", help="Challenge steps, e.g. turn_left,blink,turn_right")
]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write the signal plot (PNG)")]

#: What ``liveness`` and ``verify --no-challenge`` say a verdict without a challenge covers.
NO_CHALLENGE = "no challenge was given"


#: The end of ``liveness --help`` and ``verify --help``, before the exit codes (epilogs:
#: their lines are joined, unlike a docstring's).
LIVENESS_HELP = (
    "Without --challenge the verdict covers the passive checks only, and says so. Each step "
    "is explained on its own line: when it was prompted and its window, when the action began "
    "and peaked, or why it was not seen (too small, too early, too late, after the step "
    "deadline, or not reached after a missed step)."
)
VERIFY_HELP = (
    "PASSED means every check ran and passed: the portrait matched the live face, the "
    "challenge's steps were seen in order (and each in its window when the challenge has a "
    "schedule), and the passive checks (screen replay, print, the same face throughout) found "
    "no attack. A challenge is required, because without one a replayed video of the person "
    "passes; with --no-challenge the verdict covers the match and the passive checks only, "
    'and says so: "PASSED (match and passive liveness only: no challenge was given)".'
)


def match(
    reference: Annotated[
        Path, typer.Argument(help="ID card portrait (the reference)", readable=False)
    ],
    probes: Annotated[list[Path], typer.Argument(help="Live images or frames", readable=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON")] = False,
    engine: EngineOpt = None,
    fmr: Annotated[str | None, typer.Option(help="Operating point: 1e-3, 1e-4 or 1e-5")] = None,
) -> None:
    """Compare an ID portrait with one or more live images (1:1)."""
    exit_unless(run_match(reference, probes, as_json=as_json, engine=engine, fmr=fmr))


def run_match(
    reference: Path, probes: list[Path], *, as_json: bool, engine: str | None, fmr: str | None
) -> bool:
    """``match`` without its exit code (the demo runs a non-match too): prints the result and
    returns whether it passed."""
    from realname.face.match import match_faces
    from realname.media.image import ImageLimits

    with one_line_errors():
        settings = Settings()
        require_engine(engine)
        engines, policy = load_runtime(engine)  # a broken installation is reported first
        require_fmr(policy, engines.embedder.name, fmr)
        for path in (reference, *probes):
            require_file(path)
        limits = ImageLimits(
            max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels
        )
        result = match_faces(
            reference, probes, engines, policy, fmr=fmr or settings.match_fmr, limits=limits
        )
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return bool(result.passed)
    verdict = "[bold green]MATCH[/]" if result.passed else "[bold red]NO MATCH[/]"
    console.print(
        f"{verdict}  score {result.score:.4f}  threshold {result.threshold:.4f} "
        f"(FMR {result.fmr_target}, {result.engine} {result.engine_version}, "
        f"policy {result.policy_version})"
    )
    console.print(f"probes used: {list(result.probes_used)} of {len(result.probes)}")
    if result.reasons:
        console.print("reasons: " + ", ".join(result.reasons))
    console.print(f"time: {result.timings_ms['total']:.0f} ms")
    return bool(result.passed)


def _read_clip(video: Path, policy: Any) -> Any:
    from realname.media.video import VideoLimits, load_clip

    settings = Settings()
    limits = VideoLimits(
        max_bytes=settings.max_video_bytes, max_duration_s=settings.max_video_seconds
    )
    return load_clip(
        video,
        limits,
        sample_fps=policy.liveness.sample_fps,
        analysis_long_side=policy.liveness.analysis_long_side,
    )


def _print_liveness(report: Any) -> None:
    """The verdict, each step's own explanation (``StepResult.explain``: when it was seen, or
    why not, such as after the step deadline), the unprompted actions, every action and every
    passive check."""
    from rich.markup import escape

    verdict = "[bold green]LIVE[/]" if report.passed else "[bold red]NOT LIVE[/]"
    scope = "" if report.challenge else f"  (passive checks only: {NO_CHALLENGE})"
    console.print(f"{verdict}  {', '.join(report.reasons) or 'no reasons'}{scope}")
    for step in report.steps:
        line = escape(step.explain())
        shown_line = f"  step {line}" if step.seen_at_s is not None else f"  [red]step {line}[/]"
        console.print(shown_line, soft_wrap=True)
    for event in report.unprompted:
        console.print(
            f"  [red]unprompted {event.action}[/] began {event.start_s:.2f} s, "
            f"peaked {event.peak_s:.2f} s (outside every window of its own)"
        )
    actions = ", ".join(f"{a.action} {a.start_s:.2f}-{a.end_s:.2f}s" for a in report.actions)
    console.print(f"actions: {actions or 'none'}")
    for name, check in report.checks.items():
        state = "ok" if check.passed else "[red]FAILED[/]"
        applies = "" if check.applicable else " (not applicable)"
        console.print(
            f"  {name}: {check.score} vs {check.threshold} {state}{applies} - {check.detail}"
        )


def _write_plot(report: Any, plot: Path | None, title: str) -> None:
    from realname.liveness.plot import plot_liveness

    if plot is None:
        return
    with one_line_errors():
        plot_liveness(report, plot, title=title)
    err_console.print(f"wrote {shown(plot)}")


def liveness(
    video: Annotated[
        Path, typer.Argument(help="Clip (mp4, webm, mov, avi, mpg) or frame folder", readable=False)
    ],
    challenge: ChallengeOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    plot: PlotOpt = None,
) -> None:
    """Actions and passive checks of a clip (with --challenge: the steps too)."""
    from realname.liveness.challenge import parse_challenge
    from realname.liveness.check import check_liveness

    with one_line_errors():
        steps = parse_challenge(challenge)
        require_file(video, folder_ok=True)
        require_output(plot)
        policy = load_liveness_policy()
        clip = _read_clip(video, policy)
        report = check_liveness(clip, steps, load_liveness_engines(), policy)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_liveness(report)
    _write_plot(report, plot, shown(video.name))
    exit_unless(report.passed)


def _verify_challenge(challenge: str, no_challenge: bool) -> Challenge:
    """The challenge ``verify`` judges: required, unless ``--no-challenge`` says plainly that
    only the match and the passive checks are wanted."""
    from realname.liveness.challenge import parse_challenge

    steps = parse_challenge(challenge)
    if no_challenge and steps.steps:
        raise InputError("give --challenge or --no-challenge, not both")
    if not no_challenge and not steps.steps:
        raise InputError(
            "verify needs --challenge, the steps the person was asked to do (e.g. "
            "--challenge turn_left,blink,turn_right); --no-challenge judges the match and "
            "the passive liveness checks only"
        )
    return steps


def _print_verification(result: Verification, no_challenge: bool) -> None:
    verdict = "[bold green]PASSED[/]" if result.passed else "[bold red]FAILED[/]"
    scope = f" (match and passive liveness only: {NO_CHALLENGE})" if no_challenge else ""
    console.print(f"{verdict}{scope}  {', '.join(result.reasons) or 'no reasons'}")
    _print_liveness(result.liveness)
    if result.match is not None:
        console.print(
            f"match: score {result.match.score:.4f} threshold {result.match.threshold:.4f} "
            f"({'match' if result.match.passed else 'no match'})"
        )
    console.print(f"time: {result.timings_ms['total']:.0f} ms")


def verify(
    portrait: Annotated[Path, typer.Option("--portrait", help="ID card portrait", readable=False)],
    video: Annotated[
        Path, typer.Option("--video", help="The live clip or frame folder", readable=False)
    ],
    challenge: Annotated[
        str,
        typer.Option(
            "--challenge",
            help="The steps the person was asked to do, e.g. turn_left,blink,turn_right "
            "(with a schedule: blink@1.00-3.20,...); required unless --no-challenge",
        ),
    ] = "",
    no_challenge: Annotated[
        bool,
        typer.Option(
            "--no-challenge",
            help="Judge the match and the passive liveness checks only: weaker (a replayed "
            "video can pass it); the verdict says so",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
    plot: PlotOpt = None,
) -> None:
    """Quality, liveness and match in one verdict (it needs --challenge, or --no-challenge)."""
    from realname.verify import verify_identity

    with one_line_errors():
        steps = _verify_challenge(challenge, no_challenge)
        require_file(portrait)
        require_file(video, folder_ok=True)
        require_output(plot)
        policy = load_liveness_policy()
        clip = _read_clip(video, policy)
        engines = load_liveness_engines()
        result = verify_identity(portrait, clip, steps, engines, policy, fmr=Settings().match_fmr)
    if as_json:
        payload = result.to_dict()
        flat = {
            "passed": payload["passed"],
            "reasons": payload["reasons"],
            "liveness": payload["liveness"],
            "match": payload["match"] or {"score": None, "threshold": None},
            "timings_ms": payload["timings_ms"],
        }
        print(json.dumps(flat, indent=2))
    else:
        _print_verification(result, no_challenge)
    _write_plot(result.liveness, plot, f"{shown(video.name)} vs {shown(portrait.name)}")
    exit_unless(result.passed)
