"""One-off checks of files: ``match`` (portrait against live images), ``liveness`` (a clip)
and ``verify`` (quality, liveness and match in one verdict)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from realname.cli.common import (
    EngineOpt,
    console,
    err_console,
    load_liveness_runtime,
    load_runtime,
    one_line_errors,
)
from realname.settings import Settings

__all__ = ["liveness", "match", "verify"]

ChallengeOpt = Annotated[
    str, typer.Option("--challenge", help="Challenge steps, e.g. turn_left,blink,turn_right")
]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write the signal plot (PNG)")]


def match(
    reference: Annotated[Path, typer.Argument(help="ID card portrait (the reference)")],
    probes: Annotated[list[Path], typer.Argument(help="Live images or frames")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON")] = False,
    engine: EngineOpt = None,
    fmr: Annotated[str | None, typer.Option(help="Operating point: 1e-3, 1e-4 or 1e-5")] = None,
) -> None:
    """Compare an ID portrait with one or more live images (1:1)."""
    from realname.face.match import match_faces
    from realname.media.image import ImageLimits

    with one_line_errors():
        settings = Settings()
        engines, policy = load_runtime(engine)
        limits = ImageLimits(
            max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels
        )
        result = match_faces(
            reference, probes, engines, policy, fmr=fmr or settings.match_fmr, limits=limits
        )
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
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
    from rich.markup import escape

    verdict = "[bold green]LIVE[/]" if report.passed else "[bold red]NOT LIVE[/]"
    console.print(f"{verdict}  {', '.join(report.reasons) or 'no reasons'}")
    for step in report.steps:
        line = escape(step.explain())
        console.print(f"  step {line}" if step.seen_at_s is not None else f"  [red]step {line}[/]")
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


def liveness(
    video: Annotated[Path, typer.Argument(help="Clip (mp4, webm, mov, avi, mpg) or frame folder")],
    challenge: ChallengeOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    plot: PlotOpt = None,
) -> None:
    """Actions and passive checks of a clip (with --challenge: the steps too)."""
    from realname.liveness.challenge import parse_challenge
    from realname.liveness.check import check_liveness
    from realname.liveness.plot import plot_liveness

    with one_line_errors():
        engines, policy = load_liveness_runtime()
        clip = _read_clip(video, policy)
        report = check_liveness(clip, parse_challenge(challenge), engines, policy)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_liveness(report)
    if plot:
        plot_liveness(report, plot, title=video.name)
        err_console.print(f"wrote {plot}")


def verify(
    portrait: Annotated[Path, typer.Option("--portrait", help="ID card portrait")],
    video: Annotated[Path, typer.Option("--video", help="The live clip or frame folder")],
    challenge: ChallengeOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
    plot: PlotOpt = None,
) -> None:
    """Quality, liveness and match in one verdict."""
    from realname.liveness.challenge import parse_challenge
    from realname.liveness.plot import plot_liveness
    from realname.verify import verify_identity

    with one_line_errors():
        engines, policy = load_liveness_runtime()
        clip = _read_clip(video, policy)
        result = verify_identity(
            portrait, clip, parse_challenge(challenge), engines, policy, fmr=Settings().match_fmr
        )
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
        verdict = "[bold green]PASSED[/]" if result.passed else "[bold red]FAILED[/]"
        console.print(f"{verdict}  {', '.join(result.reasons) or 'no reasons'}")
        _print_liveness(result.liveness)
        if result.match is not None:
            console.print(
                f"match: score {result.match.score:.4f} threshold {result.match.threshold:.4f} "
                f"({'match' if result.match.passed else 'no match'})"
            )
        console.print(f"time: {result.timings_ms['total']:.0f} ms")
    if plot:
        plot_liveness(result.liveness, plot, title=f"{video.name} vs {portrait.name}")
        err_console.print(f"wrote {plot}")
