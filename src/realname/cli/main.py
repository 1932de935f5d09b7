"""``realname``: match, evaluate, calibrate, and inspect models from the shell."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from realname.errors import InputError, RealnameError
from realname.settings import Settings

app = typer.Typer(
    name="realname",
    help="Real-name registration with portrait matching: offline, CPU-only.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure accuracy on real data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
admin_app = typer.Typer(help="Outlets and users of the service (audited).", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
check_app = typer.Typer(help="Check the service's records against its rules.", no_args_is_help=True)
app.add_typer(check_app, name="check")

console = Console()
if not console.is_terminal:  # logs and CI: wide enough for the evaluation tables
    console = Console(width=160)
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _fail(exc: RealnameError) -> None:
    from rich.markup import escape

    # escaped: a detail such as "pip install 'realname[dlib]'" is not markup
    err_console.print(f"[bold red]error {exc.code}[/]: {escape(exc.detail)}")
    raise typer.Exit(2 if isinstance(exc, InputError) else 3)


def _require_folder(data: Path) -> None:
    """An evaluation's data folder, or the input error that names it."""
    if not data.is_dir():
        raise InputError(f"data folder {data} does not exist")


def _settings_sentence(exc: Any) -> str:
    """One sentence naming each invalid ``REALNAME_*`` variable and why (never its value: a
    setting may be a key)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = f"REALNAME_{field.upper()}" if field else "a REALNAME_* setting"
        problems.append(f"{variable} ({error['msg'][:1].lower()}{error['msg'][1:]})")
    verb = "is" if len(problems) == 1 else "are"
    return f"{' and '.join(problems)} {verb} not valid; fix it in the environment or .env."


@contextmanager
def _errors() -> Iterator[None]:
    """Errors as one line, never a traceback: the library's with their code (exit 2 for an
    unusable input, 3 otherwise), an invalid setting as one sentence naming the variable."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError
    from rich.markup import escape

    try:
        yield
    except RealnameError as exc:
        _fail(exc)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        sentence = escape(_settings_sentence(exc))
        err_console.print(f"[bold red]error SETUP_INVALID[/]: {sentence}", soft_wrap=True)
        raise typer.Exit(3) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        sentence = escape(str(exc).split("\n")[0])
        err_console.print(f"[bold red]error SETUP_INVALID[/]: {sentence}", soft_wrap=True)
        raise typer.Exit(3) from None


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


EngineOpt = Annotated[
    str | None, typer.Option("--engine", help="Embedding engine: sface or dlib-resnet")
]


def _runtime(engine: str | None) -> tuple[Any, Any]:
    from realname.engines import load_engines
    from realname.policy import load_policy

    settings = Settings()
    engines = load_engines(settings.face_detector, engine or settings.face_embedder)
    return engines, load_policy(settings.policy_file)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


@app.command()
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

    with _errors():
        settings = Settings()
        engines, policy = _runtime(engine)
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


@eval_app.command("match")
def eval_match(
    data: Annotated[Path, typer.Option(help="Folder laid out as ../shared/data")],
    engine: EngineOpt = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a DET plot (PNG)")] = None,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Only these data sets (repeatable)")
    ] = None,
) -> None:
    """FNMR at FMR 1e-3/1e-4/1e-5 and errors at the shipped threshold, per data set."""
    from realname.evaluation.datasets import DATASET_NAMES
    from realname.evaluation.match_eval import evaluate_match
    from realname.evaluation.plots import plot_det

    names = tuple(dataset) if dataset else DATASET_NAMES
    with _errors():
        _require_folder(data)
        engines, policy = _runtime(engine)
        with _progress(f"embedding ({engines.embedder.name})") as update:
            result = evaluate_match(data, engines, policy, names=names, progress=update)
    if not result.datasets:
        err_console.print(f"[red]no known data set under {data}[/]")
        raise typer.Exit(2)
    table = Table(title=f"{result.engine} at the shipped threshold (FMR {result.fmr_target})")
    for column in (
        "data set",
        "genuine",
        "impostor",
        "FTE",
        "threshold",
        "FMR",
        "FNMR",
        "FNMR@1e-3",
        "FNMR@1e-4",
        "FNMR@1e-5",
    ):
        table.add_column(column, justify="right")
    for name, r in result.datasets.items():
        table.add_row(
            name,
            str(r.genuine),
            str(r.impostor),
            str(r.failed_to_enrol),
            f"{r.threshold:.4f}",
            f"{r.fmr_at_threshold:.2e}",
            _percent(r.fnmr_at_threshold),
            *(_percent(r.fnmr_at_fmr[k]) for k in ("1e-3", "1e-4", "1e-5")),
        )
    console.print(table)
    console.print(f"{result.images} images in {result.seconds:.0f} s")
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_out}")
    if plot:
        console.print(f"wrote {plot_det(result, plot)}")


@eval_app.command("quality")
def eval_quality(
    data: Annotated[Path, typer.Option(help="Folder laid out as ../shared/data")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON")
    ] = None,
) -> None:
    """Distributions of the quality measures and how often each limit fires, per image group."""
    from realname.evaluation.quality_eval import MEASURES, PERCENTILES, evaluate_quality

    with _errors():
        _require_folder(data)
        engines, policy = _runtime(None)
        with _progress("assessing") as update:
            groups = evaluate_quality(data, engines, policy, progress=update)
    for group in groups:
        table = Table(title=f"{group.name} ({group.role}): {group.images} images")
        table.add_column("measure")
        for p in PERCENTILES:
            table.add_column(f"p{p}", justify="right")
        for m in MEASURES:
            if m in group.percentiles:
                table.add_row(m, *(f"{v:g}" for v in group.percentiles[m]))
        console.print(table)
        console.print(f"reasons: {group.reasons or 'none'}; not usable: {group.failed or 'none'}")
    if json_out:
        payload = {g.name: g.to_dict() for g in groups}
        json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_out}")


@eval_app.command("occlusion")
def eval_occlusion(
    data: Annotated[Path, typer.Option(help="Folder laid out as ../shared/data")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON")
    ] = None,
    lfw_sample: Annotated[int | None, typer.Option(help="LFW images to use (default: all)")] = None,
    frame_step: Annotated[int, typer.Option(help="Every n-th sampled frame of each clip")] = 1,
    synthetic_every: Annotated[
        int, typer.Option(help="Draw occlusions over every n-th clean real face")
    ] = 20,
) -> None:
    """FACE_OCCLUDED: false alarms on every real face, detection of synthetic occlusions."""
    from realname.evaluation.occlusion_eval import evaluate_occlusion

    with _errors():
        _require_folder(data)
        engines, policy = _runtime(None)
        with _progress("assessing") as update:
            result = evaluate_occlusion(
                data,
                engines,
                policy,
                lfw_sample=lfw_sample,
                frame_step=frame_step,
                synthetic_every=synthetic_every,
                progress=update,
            )
    summary = result.to_dict()
    table = Table(title="real faces (a known occlusion flagged is a catch, not a false alarm)")
    for column in ("source", "faces", "judged", "false alarms", "known covered", "caught"):
        table.add_column(column, justify="right")
    for source, row in summary["real"].items():
        table.add_row(
            source,
            *(str(row[k]) for k in ("faces", "judged", "false_alarms", "known", "caught")),
        )
    console.print(table)
    table = Table(title="synthetic occlusions, by kind and size")
    for column in ("kind/size", "occlusions", "coverage", "flagged", "no face"):
        table.add_column(column, justify="right")
    for name, row in summary["by_kind_and_size"].items():
        table.add_row(
            name,
            str(row["occlusions"]),
            f"{row['mean_coverage']:.2f}",
            _percent(row["rate_flagged"]),
            str(row["no_face"]),
        )
    console.print(table)
    table = Table(title="synthetic occlusions, by kind and colour")
    for column in ("kind/colour", "occlusions", "flagged"):
        table.add_column(column, justify="right")
    for name, row in sorted(summary["by_colour"].items()):
        table.add_row(name, str(row["occlusions"]), _percent(row["rate_flagged"]))
    console.print(table)
    third = summary["detection_third_or_more"]
    console.print(
        f"covering a third of the face or more: {_percent(third['rate_flagged'])} flagged "
        f"FACE_OCCLUDED of {third['occlusions']} ({third['no_face']} no longer found as a face)"
    )
    table = Table(title="leave one source out: limits from the other sources")
    for column in ("left out", "faces", "false alarms", "limits"):
        table.add_column(column, justify="right")
    for row in summary["leave_one_source_out"]:
        limits = ", ".join(f"{k} {v:g}" for k, v in row["limits"].items())
        table.add_row(row["left_out"], str(row["faces"]), str(row["false_alarms"]), limits)
    console.print(table)
    console.print(
        f"false alarms: {len(summary['false_alarms'])}; known covered faces caught: "
        f"{summary['known_occluded_caught']} of {summary['known_occluded_faces']}; "
        f"{summary['microseconds_per_face']:.0f} us per face; {summary['seconds']:.0f} s"
    )
    if json_out:
        json_out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_out}")


@app.command()
def calibrate(
    data: Annotated[Path, typer.Option(help="Folder laid out as ../shared/data (needs lfw/)")],
    engine: Annotated[
        list[str] | None, typer.Option(help="Engines to calibrate (default: sface and dlib-resnet)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Policy file to write (default: the packaged one)")
    ] = None,
) -> None:
    """Set the thresholds at FMR 1e-3, 1e-4, 1e-5 from LFW's cross-identity pairs."""
    from realname.engines import load_engines
    from realname.evaluation.calibrate import calibrate_engine, write_policy
    from realname.policy import default_policy_path, policy_from_dict

    target = out or default_policy_path()
    with _errors():
        if not target.exists():
            target.write_text(default_policy_path().read_text(encoding="utf-8"), encoding="utf-8")
        raw = json.loads(target.read_text(encoding="utf-8"))
        base = policy_from_dict({**raw, "engines": {}})  # face search and quality, no thresholds
        for name in engine or ["sface", "dlib-resnet"]:
            engines = load_engines(Settings().face_detector, name)
            with _progress(f"calibrating {name}") as update:
                entry = calibrate_engine(data, engines, base, update)
            raw = write_policy(target, name, entry)
            for label, point in entry["operating_points"].items():
                console.print(
                    f"{name}  FMR {label}: threshold {point['threshold']:.4f}  "
                    f"FNMR {_percent(point['measured_fnmr'])}"
                )
    console.print(f"wrote {target} (version {raw['version']})")


def _liveness_runtime() -> tuple[Any, Any]:
    from realname.engines import load_engines
    from realname.policy import load_policy

    settings = Settings()
    engines = load_engines(settings.face_detector, settings.face_embedder, settings.landmarker)
    policy = load_policy(settings.policy_file)
    if policy.liveness is None:
        raise InputError(f"policy {policy.version} has no liveness section")
    return engines, policy


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


ChallengeOpt = Annotated[
    str, typer.Option("--challenge", help="Challenge steps, e.g. turn_left,blink,turn_right")
]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write the signal plot (PNG)")]


@app.command()
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

    with _errors():
        engines, policy = _liveness_runtime()
        clip = _read_clip(video, policy)
        report = check_liveness(clip, parse_challenge(challenge), engines, policy.liveness, policy)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_liveness(report)
    if plot:
        plot_liveness(report, plot, title=video.name)
        err_console.print(f"wrote {plot}")


@app.command()
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

    with _errors():
        engines, policy = _liveness_runtime()
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


@eval_app.command("liveness")
def eval_liveness(
    data: Annotated[Path, typer.Option(help="Folder laid out as ../shared/data")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON")
    ] = None,
    lfw_prints: Annotated[int, typer.Option(help="LFW photos turned into print attacks")] = 50,
    nuaa_prints: Annotated[
        int | None, typer.Option(help="At most this many NUAA printed photos (default: all)")
    ] = None,
) -> None:
    """BPCER on live clips, APCER per attack type (screen replay, synthesised print)."""
    from realname.evaluation.liveness_eval import evaluate_liveness

    with _errors():
        _require_folder(data)
        engines, policy = _liveness_runtime()
        with _progress("liveness") as update:
            result = evaluate_liveness(
                data,
                engines,
                policy,
                lfw_prints=lfw_prints,
                nuaa_prints=nuaa_prints,
                progress=update,
            )
    table = Table(title="liveness at the shipped policy")
    for column in ("set", "samples", "errors", "rate"):
        table.add_column(column, justify="right")
    live = [s for s in result.samples if s.label == "live"]
    table.add_row(
        "genuine (BPCER)",
        str(len(live)),
        str(sum(not s.passed for s in live)),
        _percent(result.bpcer),
    )
    for attack, rate in result.apcer.items():
        n = sum(s.attack_type == attack for s in result.samples)
        passed = sum(s.passed for s in result.samples if s.attack_type == attack)
        table.add_row(f"{attack} (APCER)", str(n), str(passed), _percent(rate))
    console.print(table)
    for s in result.samples:
        wrong = (s.label == "live") != s.passed
        if wrong:
            console.print(
                f"[red]{s.label} {s.attack_type} {s.path}[/]: {', '.join(s.reasons) or 'passed'}"
            )
    errors = result.step_errors()
    if errors:
        within = sum(e <= 0.5 for e in errors)
        console.print(
            f"step times against labelled event times: {within} of {len(errors)} within 0.5 s, "
            f"median {float(sorted(errors)[len(errors) // 2]):.2f} s, max {max(errors):.2f} s"
        )
        events = result.event_errors()
        console.print(
            f"labelled events with a detected event of the same action within 0.5 s: "
            f"{sum(e <= 0.5 for e in events)} of {len(events)}"
        )
    console.print(f"{len(result.samples)} samples in {result.seconds:.0f} s")
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_out}")


@eval_app.command("passive")
def eval_passive(
    data: Annotated[Path, typer.Option(help="Folder laid out as ../shared/data")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON")
    ] = None,
    sample_fps: Annotated[
        float, typer.Option(min=1.0, help="Frames a second measured (5: the check's crop rate)")
    ] = 5.0,
) -> None:
    """Every passive (recapture) cue's threshold chosen with one data source left out: APCER on
    the left-out source's replays, BPCER on its live clips, per cue and for any cue firing."""
    from realname.evaluation.passive_cv import cross_validate, measure_passive_cues

    with _errors():
        _require_folder(data)
        engines, policy = _liveness_runtime()
        start = time.perf_counter()
        with _progress("passive cues") as update:
            clips = measure_passive_cues(
                data, engines, policy, sample_fps=sample_fps, progress=update
            )
        result = cross_validate(clips, policy)
    attacks = [c for c in clips if c.label == "spoof"]
    live = [c for c in clips if c.label == "live"]
    table = Table(
        title=f"passive cues, one source left out ({len({c.source for c in clips})} sources, "
        f"{len(attacks)} replays, {len(live)} live clips)"
    )
    for column in ("cue", "rule", "threshold (all)", "CV APCER", "CV BPCER", "in-sample APCER"):
        table.add_column(column, justify="right")
    table.add_column("only in sample")
    for r in result.results:
        threshold = r.all_sources_threshold
        table.add_row(
            r.cue,
            r.rule,
            "" if threshold != threshold else f"{threshold:.4g}",  # NaN: a combination
            _percent(r.apcer),
            _percent(r.bpcer),
            _percent(r.in_sample_apcer),
            ", ".join(p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in r.only_in_sample),
        )
    console.print(table)
    console.print(
        f"{len(clips)} clips measured at {sample_fps:g} fps in {time.perf_counter() - start:.0f} s"
    )
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_out}")


@eval_app.command("attacks")
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
    from realname.evaluation.attacks import evaluate_universal_recording, upper_95
    from realname.policy import load_policy

    if data is not None and not data.is_dir():
        with _errors():
            raise InputError(f"data folder {data} does not exist")
    with _errors():
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
    payload = result.to_dict()
    if data is not None:
        payload |= _eval_clip_attacks(
            data, draws=draws, seed=seed, trials=trials, tolerances=tolerances
        )
    elif tolerances:
        with _errors():
            raise InputError("--tolerances needs --data")
    if json_out:
        json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_out}")


def _eval_clip_attacks(
    data: Path, *, draws: int, seed: int, trials: int, tolerances: bool = False
) -> dict[str, Any]:
    """``eval attacks --data``: the per-clip replay and the prompted genuine users, printed;
    their results as JSON keys ``clip_replays`` and ``prompted_genuine`` (and ``tolerances``)."""
    from realname.evaluation.attacks import (
        evaluate_clip_replays,
        evaluate_prompted_genuine,
        measure_clip_events,
        upper_95,
    )

    with _errors():
        engines, policy = _liveness_runtime()
        live = policy.liveness
        t0 = time.perf_counter()
        with _progress("events per live clip") as update:
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
    summary = genuine.to_dict()
    console.print(
        f"prompted BPCER {_percent(genuine.bpcer)} over {len(genuine.rows)} labelled live clips "
        f"({summary['expected_rejections']:.2f} expected rejections; "
        f"{summary['clips_always_failing']} fail every trial, "
        f"{summary['clips_always_passing']} pass every trial; "
        f"{summary['clips_not_found']} with a labelled action not detected); "
        f"{len(genuine.close())} clips with labelled actions closer than the "
        f"{genuine.gap_s[0]} s shortest gap, "
        f"{len(summary['clips_wider_than_max_gap'])} wider than the {genuine.gap_s[1]} s longest; "
        f"BPCER on the clips within the gaps {_percent(genuine.bpcer_within_gaps())}; trials "
        f"with a step missed {_percent(genuine.bpcer_missed)}, with an unprompted action "
        f"{_percent(genuine.bpcer_unprompted)} (a trial may have both)"
    )
    console.print(f"events measured in {measured_s:.0f} s (policy {policy.version})")
    out = {
        "events_seconds": round(measured_s, 1),
        "clip_replays": replays.to_dict(),
        "prompted_genuine": summary,
    }
    if tolerances:
        out["tolerances"] = _eval_tolerances(clips, policy, seed=seed)
    return out


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
            _percent(r.bpcer),
            r.worst_replay,
            f"{r.replay_passed}/{r.replay_draws} "
            f"(<= {upper_95(r.replay_passed, r.replay_draws):.1e})",
            r.worst_loop,
            f"{r.loop_passed}/{r.loop_draws} (<= {upper_95(r.loop_passed, r.loop_draws):.1e})",
        )
    console.print(table)
    console.print(f"relaxations measured in {seconds:.0f} s")
    return [r.to_dict() for r in rows]


@audit_app.command("verify")
def audit_verify(
    export: Annotated[Path, typer.Argument(help="An audit export (JSON lines)")],
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="PEM public key that signed the heads")
    ] = None,
) -> None:
    """Check an exported audit log offline; exit 1 and name the first bad entry if tampered."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from realname.records.audit import read_export, verify_chain

    with _errors():
        entries, heads = read_export(export)
        key = None
        if public_key is not None:
            loaded = load_pem_public_key(public_key.read_bytes())
            if not isinstance(loaded, Ed25519PublicKey):
                raise InputError(f"{public_key.name} is not an Ed25519 public key")
            key = loaded
        result = verify_chain(entries, heads, key)
    if result.ok:
        signed = "signatures checked" if key else "signatures NOT checked (no --public-key)"
        console.print(
            f"[green]OK[/]: {result.entries} entries, {result.heads} signed heads, {signed}"
        )
        return
    console.print(f"[red]TAMPERED[/]: {result.reason}")
    raise typer.Exit(1)


def _service_context(settings: Settings | None = None) -> Any:
    """The service's parts without the web app: settings and keys checked, database migrated."""
    from realname.service.app import build_context
    from realname.service.store.migrate import upgrade

    ctx = build_context(settings or Settings())
    upgrade(ctx.database)
    return ctx


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="JSON lines file to write")],
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="Also write the PEM public key here")
    ] = None,
) -> None:
    """Export the service's audit chain and signed heads (verify with `realname audit verify`)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    with _errors():
        ctx = _service_context()
        ctx.audit.sign()
        entries, heads = ctx.audit.export(out)
        if public_key is not None:
            pem = ctx.keys.signing_key.public_key().public_bytes(
                Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
            )
            public_key.write_bytes(pem)
        ctx.database.dispose()
    console.print(f"wrote {out}: {entries} entries, {heads} signed heads")


@admin_app.command("create-outlet")
def admin_create_outlet(name: Annotated[str, typer.Argument(help="Outlet name")]) -> None:
    """Create an outlet (audited, actor `cli`)."""
    from realname.records.audit import Actor
    from realname.service.usecases.people import create_outlet

    with _errors():
        ctx = _service_context()
        outlet = create_outlet(ctx.database, ctx.audit, Actor("cli"), name, ctx.now())
        ctx.database.dispose()
    console.print(f"outlet {outlet.id}: {outlet.name}")


@admin_app.command("create-user")
def admin_create_user(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option("--role", help="clerk, supervisor, auditor or admin")],
    outlet: Annotated[
        str | None, typer.Option("--outlet", help="Outlet name (clerks and supervisors)")
    ] = None,
    all_outlets: Annotated[
        bool,
        typer.Option(
            "--all-outlets", help="A supervisor of no outlet, who sees every outlet (regional)"
        ),
    ] = False,
    password: Annotated[
        str | None, typer.Option("--password", help="Prompted for when omitted")
    ] = None,
) -> None:
    """Create a user with an argon2id password hash (audited, actor `cli`). A clerk needs
    --outlet; a supervisor needs --outlet, or --all-outlets to see every outlet."""
    from realname.records.audit import Actor
    from realname.service.usecases.people import create_user

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _errors():
        ctx = _service_context()
        user = create_user(
            ctx.database,
            ctx.audit,
            Actor("cli"),
            username=username,
            password=password,
            role=role,
            outlet=outlet,
            now=ctx.now(),
            all_outlets=all_outlets,
        )
        ctx.database.dispose()
    where = user.outlet or ("all outlets" if all_outlets else "-")
    console.print(f"user {user.id}: {user.username} ({user.role}, outlet {where})")


@check_app.command("invariants")
def check_invariants(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Check the registration rules on the service's records: the cap per ID, one ID per
    active number, every number bound from a verified session used once, no session stuck
    mid-capture, reviews agreeing with their sessions, the audit chain intact. Exit 1 if any
    is broken."""
    from realname.service.usecases.invariants import check_invariants as run_check

    with _errors():
        ctx = _service_context()
        report = run_check(ctx)
        ctx.database.dispose()
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
    else:
        table = Table(title="registration invariants")
        for column in ("rule", "status", "count", "examples"):
            table.add_column(column)
        broken = {v.rule: v for v in report.violations}
        for rule in report.checked:
            v = broken.get(rule)
            status = "[green]ok[/]" if v is None else f"[red]BROKEN[/]: {v.detail}"
            table.add_row(rule, status, "" if v is None else str(v.count), _examples(v))
        console.print(table)
        console.print(
            f"{report.sessions} sessions, {report.active_numbers} active numbers, "
            f"{report.audit_entries} audit entries checked"
        )
    if not report.ok:
        raise typer.Exit(1)


def _examples(violation: Any) -> str:
    return "" if violation is None else ", ".join(violation.examples)


@app.command()
def purge() -> None:
    """Enforce retention now: review evidence, ended sessions' data, identities past retention."""
    from realname.records.audit import Actor
    from realname.service.usecases.purge import purge as run_purge

    with _errors():
        ctx = _service_context()
        report = run_purge(ctx, Actor("cli"))
        ctx.database.dispose()
    console.print(
        f"purged: {report.evidence} review evidence, {report.sessions} sessions' data, "
        f"{report.identities} identities, {report.tokens} tokens"
    )


def _run_uvicorn(application: Any, host: str, port: int, settings: Settings) -> None:
    """uvicorn without its access log (raw paths may hold a mobile number): the service logs
    each request by its route template instead.

    Against slow or idle clients: a request head must arrive within ``REALNAME_BODY_TIMEOUT_S``
    of the connection opening (uvicorn itself arms no timer before the head), each piece of a
    body too (the app's middleware), a kept-alive connection idles 5 s at most, a head is at
    most 16 KiB, and past ``REALNAME_MAX_CONNECTIONS`` open connections and requests uvicorn
    answers 503. On SIGTERM, open requests get ``REALNAME_SHUTDOWN_GRACE_S`` before they are
    cancelled; the app's shut-down then waits at most as long again for running verifications,
    and never for a runaway worker."""
    import logging

    import uvicorn

    from realname.service.server import header_timeout_protocol

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        http=header_timeout_protocol(settings.body_timeout_s),
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Run the registration service (uvicorn); settings from REALNAME_* variables or .env."""
    from realname.service.app import create_app

    with _errors():
        settings = Settings()
        application = create_app(settings)
    _run_uvicorn(application, host, port, settings)


def _short_sha256(digest: str) -> str:
    """``8f2383e4…2fa4``: the way the model cards quote a digest."""
    return f"{digest[:8]}…{digest[-4:]}"


@app.command()
def models(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Verify every SHA-256; exit 3 if a file of the default install (or of an "
            "installed extra) is missing or altered",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the list as JSON, with the full SHA-256")
    ] = False,
) -> None:
    """List the model files, their licence, pinned SHA-256, optional extra and status.

    A model of an optional extra that is not installed is reported, not a failure."""
    from rich.markup import escape

    from realname.engines.models import MODEL_FILES, extra_install_hint, resolve_model
    from realname.errors import ExtraNotInstalledError

    rows: list[dict[str, Any]] = []
    failed = False
    for key, model in MODEL_FILES.items():
        error: RealnameError | None = None
        try:
            resolve_model(key, verify=check)
            status = "sha256 ok" if check else "present"
        except ExtraNotInstalledError as exc:
            status, error = f"not installed (optional: realname[{model.extra}])", exc
        except RealnameError as exc:
            status, error, failed = f"{exc.code}: {exc.detail}", exc, True
        rows.append(
            {
                "key": key,
                "package": model.pip_spec,
                "file": model.relative_path,
                "licence": model.licence,
                "commercial_use": model.commercial_use,
                "sha256": model.sha256,
                "extra": model.extra,
                "install": extra_install_hint(model.extra) if model.extra else None,
                "status": status,
                "error": error.code if error is not None else None,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        table = Table(title="model files")
        for column in ("key", "extra", "licence", "sha256", "status"):
            table.add_column(column)
        for row in rows:
            licence = escape(row["licence"])
            if not row["commercial_use"]:
                licence = f"[bold red]⚠ {licence}[/]"
            status = escape(row["status"])
            if row["error"] is not None:
                colour = "yellow" if row["error"] == ExtraNotInstalledError.code else "red"
                status = f"[{colour}]{status}[/]"
            extra = escape(f"realname[{row['extra']}]") if row["extra"] else "-"
            table.add_row(row["key"], extra, licence, _short_sha256(row["sha256"]), status)
        console.print(table)
        for row in rows:
            if not row["commercial_use"]:
                where = f"realname[{row['extra']}] ({row['install']})" if row["extra"] else "-"
                console.print(
                    f"[bold red]licence warning[/]: {row['key']} ({escape(row['licence'])}) "
                    f"may not be used commercially; it comes only with the optional extra "
                    f"{escape(where)}",
                    soft_wrap=True,
                )
    if failed:
        raise typer.Exit(3)


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the demo service afterwards")
    ] = True,
    database: Annotated[
        Path, typer.Option("--database", help="SQLite file of the demo service")
    ] = Path("realname-demo.db"),
    port: Annotated[int, typer.Option(help="Port of the demo service")] = 8000,
) -> None:
    """Match a chip portrait against 'live' frames, then serve a dev-mode demo service with a
    demo outlet, a clerk, a supervisor and an auditor on 127.0.0.1."""
    with _errors():
        settings = _demo_settings(database)
    _demo_match(_demo_images(database))
    logins = _demo_people(settings)
    url = f"http://127.0.0.1:{port}"
    console.print(f"\n[bold]Demo service[/] (dev mode, {database}): {url}  (API docs: {url}/docs)")
    for role, (username, password) in logins.items():
        console.print(f"  {role:<10} login [bold]{username}[/]  password [bold]{password}[/]")
    console.print(
        f"  $ curl -s -d username={logins['clerk'][0]} -d password={logins['clerk'][1]} "
        f"{url}/api/v1/auth/token"
    )
    if not serve_after:
        return
    from realname.service.app import create_app

    with _errors():
        application = create_app(settings)
    _run_uvicorn(application, "127.0.0.1", port, settings)


def _demo_settings(database: Path) -> Settings:
    return Settings(dev_mode=True, database_url=f"sqlite:///{database.resolve()}")


def _demo_people(settings: Settings) -> dict[str, tuple[str, str]]:
    """The demo outlet, a clerk, a supervisor and an auditor, with fresh passwords each run."""
    import secrets
    import string

    from realname.errors import ConflictError
    from realname.records.audit import Actor
    from realname.service.usecases.people import create_outlet, create_user, set_password

    logins: dict[str, tuple[str, str]] = {}
    with _errors():
        ctx = _service_context(settings)
        actor = Actor("demo")
        with suppress(ConflictError):
            create_outlet(ctx.database, ctx.audit, actor, "Demo outlet", ctx.now())
        for role in ("clerk", "supervisor", "auditor"):
            alphabet = string.ascii_letters + string.digits  # nothing a shell or curl misreads
            username = f"demo-{role}"
            password = "".join(secrets.choice(alphabet) for _ in range(16))
            try:
                create_user(
                    ctx.database,
                    ctx.audit,
                    actor,
                    username=username,
                    password=password,
                    role=role,
                    outlet=None if role == "auditor" else "Demo outlet",
                    now=ctx.now(),
                )
            except ConflictError:
                set_password(ctx.database, ctx.audit, actor, username, password, ctx.now())
            logins[role] = (username, password)
        ctx.database.dispose()
    return logins


def _demo_images(database: Path) -> Path:
    """The demo's own folder for its images, beside its database (``realname-demo-images/``
    next to ``realname-demo.db``); each run overwrites them. Never the system temp folder."""
    return database.resolve().parent / f"{database.stem}-images"


def _demo_match(folder: Path) -> None:
    """Match an ID-style chip portrait cut from a packaged photo against three 'live' frames
    (the images are written to ``folder``, which the demo owns)."""
    import cv2
    import numpy as np

    from realname.evaluation.datasets import to_chip

    try:
        from skimage import data as skdata
    except ImportError:
        err_console.print("the demo image ships in scikit-image: run `make install` first")
        raise typer.Exit(3) from None
    photo = np.asarray(cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR), dtype=np.uint8)  # type: ignore[no-untyped-call]
    folder.mkdir(parents=True, exist_ok=True)
    portrait = folder / "id_portrait_102x126.png"
    cv2.imwrite(str(portrait), to_chip(photo[0:300, 100:340]))
    frames = []
    for i, (gain, shift) in enumerate([(1.0, 0), (0.8, 10), (1.15, -10)]):
        frame = cv2.convertScaleAbs(cv2.resize(photo, (640, 640))[80:560], alpha=gain, beta=shift)
        frames.append(folder / f"frame{i}.jpg")
        cv2.imwrite(str(frames[-1]), frame)
    console.print(f"images written to {folder} (scikit-image's astronaut photo)")
    console.print(f"$ realname match {portrait.name} {' '.join(f.name for f in frames)}")
    match(portrait, frames, as_json=False, engine=None, fmr=None)
    other = folder / "someone_else.jpg"
    cv2.imwrite(str(other), cv2.cvtColor(skdata.camera(), cv2.COLOR_GRAY2BGR))  # type: ignore[no-untyped-call]
    console.print(f"\n$ realname match {portrait.name} {other.name}   (scikit-image's cameraman)")
    match(portrait, [other], as_json=False, engine=None, fmr=None)


if __name__ == "__main__":  # pragma: no cover
    app()
