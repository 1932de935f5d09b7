"""Measuring on real data: the ``eval`` sub-app (``match``, ``quality``, ``occlusion``,
``liveness``, ``passive``, and ``attacks`` from :mod:`realname.cli.attacks`) and ``calibrate``,
which sets the policy's thresholds from LFW."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from realname.cli.attacks import eval_attacks
from realname.cli.common import (
    EngineOpt,
    console,
    err_console,
    load_liveness_runtime,
    load_runtime,
    one_line_errors,
    percent,
    progress_bar,
    require_engine,
    require_folder,
    require_output,
)
from realname.cli.idcard_eval import eval_idcard
from realname.settings import Settings

__all__ = ["calibrate", "eval_app"]

eval_app = typer.Typer(help="Measure accuracy on real data.", no_args_is_help=True)

DataOpt = Annotated[Path, typer.Option(help="Folder laid out as ../shared/data")]
JsonOutOpt = Annotated[Path | None, typer.Option("--json", help="Write the results as JSON")]


def _write_json(json_out: Path | None, payload: Any) -> None:
    if json_out:
        json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_out}")


@eval_app.command("match")
def eval_match(
    data: DataOpt,
    engine: EngineOpt = None,
    json_out: JsonOutOpt = None,
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
    with one_line_errors():
        require_folder(data)
        require_output(json_out)
        require_output(plot)
        require_engine(engine)
        engines, policy = load_runtime(engine)
        with progress_bar(f"embedding ({engines.embedder.name})") as update:
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
            percent(r.fnmr_at_threshold),
            *(percent(r.fnmr_at_fmr[k]) for k in ("1e-3", "1e-4", "1e-5")),
        )
    console.print(table)
    console.print(f"{result.images} images in {result.seconds:.0f} s")
    _write_json(json_out, result.to_dict())
    if plot:
        console.print(f"wrote {plot_det(result, plot)}")


@eval_app.command("quality")
def eval_quality(data: DataOpt, json_out: JsonOutOpt = None) -> None:
    """Distributions of the quality measures and how often each limit fires, per image group."""
    from realname.evaluation.quality_eval import MEASURES, PERCENTILES, evaluate_quality

    with one_line_errors():
        require_folder(data)
        require_output(json_out)
        engines, policy = load_runtime(None)
        with progress_bar("assessing") as update:
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
    _write_json(json_out, {g.name: g.to_dict() for g in groups})


@eval_app.command("occlusion")
def eval_occlusion(
    data: DataOpt,
    json_out: JsonOutOpt = None,
    lfw_sample: Annotated[int | None, typer.Option(help="LFW images to use (default: all)")] = None,
    frame_step: Annotated[int, typer.Option(help="Every n-th sampled frame of each clip")] = 1,
    synthetic_every: Annotated[
        int, typer.Option(help="Draw occlusions over every n-th clean real face")
    ] = 20,
) -> None:
    """FACE_OCCLUDED: false alarms on every real face, detection of synthetic occlusions."""
    from realname.evaluation.occlusion_eval import evaluate_occlusion

    with one_line_errors():
        require_folder(data)
        require_output(json_out)
        engines, policy = load_runtime(None)
        with progress_bar("assessing") as update:
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
    _print_occlusion_real(summary)
    _print_occlusion_synthetic(summary)
    _print_occlusion_left_out(summary)
    _write_json(json_out, summary)


def _print_occlusion_real(summary: dict[str, Any]) -> None:
    table = Table(title="real faces (a known occlusion flagged is a catch, not a false alarm)")
    for column in ("source", "faces", "judged", "false alarms", "known covered", "caught"):
        table.add_column(column, justify="right")
    for source, row in summary["real"].items():
        table.add_row(
            source,
            *(str(row[k]) for k in ("faces", "judged", "false_alarms", "known", "caught")),
        )
    console.print(table)


def _print_occlusion_synthetic(summary: dict[str, Any]) -> None:
    table = Table(title="synthetic occlusions, by kind and size")
    for column in ("kind/size", "occlusions", "coverage", "flagged", "no face"):
        table.add_column(column, justify="right")
    for name, row in summary["by_kind_and_size"].items():
        table.add_row(
            name,
            str(row["occlusions"]),
            f"{row['mean_coverage']:.2f}",
            percent(row["rate_flagged"]),
            str(row["no_face"]),
        )
    console.print(table)
    table = Table(title="synthetic occlusions, by kind and colour")
    for column in ("kind/colour", "occlusions", "flagged"):
        table.add_column(column, justify="right")
    for name, row in sorted(summary["by_colour"].items()):
        table.add_row(name, str(row["occlusions"]), percent(row["rate_flagged"]))
    console.print(table)
    third = summary["detection_third_or_more"]
    console.print(
        f"covering a third of the face or more: {percent(third['rate_flagged'])} flagged "
        f"FACE_OCCLUDED of {third['occlusions']} ({third['no_face']} no longer found as a face)"
    )


def _print_occlusion_left_out(summary: dict[str, Any]) -> None:
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
    with one_line_errors():
        require_folder(data)
        require_output(target)
        for name in engine or []:
            require_engine(name)
        if not target.exists():
            target.write_text(default_policy_path().read_text(encoding="utf-8"), encoding="utf-8")
        raw = json.loads(target.read_text(encoding="utf-8"))
        base = policy_from_dict({**raw, "engines": {}})  # face search and quality, no thresholds
        for name in engine or ["sface", "dlib-resnet"]:
            engines = load_engines(Settings().face_detector, name)
            with progress_bar(f"calibrating {name}") as update:
                entry = calibrate_engine(data, engines, base, update)
            raw = write_policy(target, name, entry)
            for label, point in entry["operating_points"].items():
                console.print(
                    f"{name}  FMR {label}: threshold {point['threshold']:.4f}  "
                    f"FNMR {percent(point['measured_fnmr'])}"
                )
    console.print(f"wrote {target} (version {raw['version']})")


@eval_app.command("liveness")
def eval_liveness(
    data: DataOpt,
    json_out: JsonOutOpt = None,
    lfw_prints: Annotated[int, typer.Option(help="LFW photos turned into print attacks")] = 50,
    nuaa_prints: Annotated[
        int | None, typer.Option(help="At most this many NUAA printed photos (default: all)")
    ] = None,
) -> None:
    """BPCER on live clips, APCER per attack type (screen replay, synthesised print)."""
    from realname.evaluation.liveness_eval import evaluate_liveness

    with one_line_errors():
        require_folder(data)
        require_output(json_out)
        engines, policy = load_liveness_runtime()
        with progress_bar("liveness") as update:
            result = evaluate_liveness(
                data,
                engines,
                policy,
                lfw_prints=lfw_prints,
                nuaa_prints=nuaa_prints,
                progress=update,
            )
    _print_liveness_rates(result)
    _print_liveness_errors(result)
    console.print(f"{len(result.samples)} samples in {result.seconds:.0f} s")
    _write_json(json_out, result.to_dict())


def _print_liveness_rates(result: Any) -> None:
    table = Table(title="liveness at the shipped policy")
    for column in ("set", "samples", "errors", "rate"):
        table.add_column(column, justify="right")
    live = [s for s in result.samples if s.label == "live"]
    table.add_row(
        "genuine (BPCER)",
        str(len(live)),
        str(sum(not s.passed for s in live)),
        percent(result.bpcer),
    )
    for attack, rate in result.apcer.items():
        n = sum(s.attack_type == attack for s in result.samples)
        passed = sum(s.passed for s in result.samples if s.attack_type == attack)
        table.add_row(f"{attack} (APCER)", str(n), str(passed), percent(rate))
    console.print(table)


def _print_liveness_errors(result: Any) -> None:
    """Every sample judged wrongly, then how close the steps and events came to the labels."""
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


@eval_app.command("passive")
def eval_passive(
    data: DataOpt,
    json_out: JsonOutOpt = None,
    sample_fps: Annotated[
        float, typer.Option(min=1.0, help="Frames a second measured (5: the check's crop rate)")
    ] = 5.0,
) -> None:
    """Every passive (recapture) cue's threshold chosen with one data source left out: APCER on
    the left-out source's replays, BPCER on its live clips, per cue and for any cue firing."""
    from realname.evaluation.passive_cv import cross_validate, measure_passive_cues

    with one_line_errors():
        require_folder(data)
        require_output(json_out)
        engines, policy = load_liveness_runtime()
        start = time.perf_counter()
        with progress_bar("passive cues") as update:
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
            percent(r.apcer),
            percent(r.bpcer),
            percent(r.in_sample_apcer),
            ", ".join(p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in r.only_in_sample),
        )
    console.print(table)
    console.print(
        f"{len(clips)} clips measured at {sample_fps:g} fps in {time.perf_counter() - start:.0f} s"
    )
    _write_json(json_out, result.to_dict())


eval_app.command("attacks")(eval_attacks)
eval_app.command("idcard")(eval_idcard)
