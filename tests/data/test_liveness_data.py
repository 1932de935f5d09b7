"""Liveness on real clips of ../shared/data: a live clip with labelled turns, every screen replay
challenged with its own actions, synthesised print attacks, and the genuine-clip error rate."""

from __future__ import annotations

import pytest

from realname.evaluation.liveness_eval import (
    EVAL_LIMITS,
    LivenessEvaluation,
    _label_items,
    evaluate_liveness,
    read_data_clip,
)
from realname.liveness.actions import detect_actions
from realname.liveness.challenge import Challenge, Schedule, parse_challenge
from realname.liveness.check import blink_spans, check_liveness
from realname.liveness.signals import extract_signals
from realname.media.video import load_clip

pytestmark = pytest.mark.data


def _clip(path, policy):
    live = policy.liveness
    return load_clip(
        path, EVAL_LIMITS, sample_fps=live.sample_fps, analysis_long_side=live.analysis_long_side
    )


def test_a_live_clip_passes_its_challenge_with_steps_when_they_happen(
    data_dir, engines, policy
) -> None:
    # Labels: own left 2.5-5.5 s, own right 7.5-10.5 s, looks down 12-13.5 s.
    clip = _clip(data_dir / "liveness_videos_github/tranvanluyt2203/real.mp4", policy)
    report = check_liveness(
        clip,
        parse_challenge("turn_left,turn_right,nod"),
        engines,
        policy,
        step_timeout_s=clip.duration_s,
    )
    assert report.passed, report.reasons
    windows = [(2.5, 5.5), (7.5, 10.5), (12.0, 13.5)]
    for step, (start, end) in zip(report.steps, windows, strict=True):
        assert step.seen_at_s is not None
        assert start - 0.5 <= step.seen_at_s <= end + 0.5, step


@pytest.fixture(scope="module")
def evaluation(data_dir, engines, policy) -> LivenessEvaluation:
    return evaluate_liveness(data_dir, engines, policy, lfw_prints=10, nuaa_prints=30)


def test_every_screen_replay_is_rejected_even_with_its_own_actions(evaluation) -> None:
    replays = [s for s in evaluation.samples if s.attack_type == "screen_replay"]
    assert len(replays) >= 4
    assert [s.path for s in replays if s.passed] == []


def test_every_synthesised_print_attack_is_rejected(evaluation) -> None:
    prints = [s for s in evaluation.samples if s.attack_type.startswith("print")]
    assert len(prints) == 40
    assert [s.path for s in prints if s.passed] == []


def test_genuine_clips_bpcer_at_most_4_percent(evaluation, engines) -> None:
    assert engines.landmarker.name == "mesh"  # the default landmarker (issue 11)
    live = [s for s in evaluation.samples if s.label == "live"]
    assert len(live) >= 70
    assert evaluation.bpcer <= 0.04, [(s.path, s.reasons) for s in live if not s.passed]


def test_the_mesh_is_no_worse_than_dlib68_on_the_same_clips(data_dir, policy, evaluation) -> None:
    """Issue 11: the Apache-licensed mesh replaces dlib's 68 points only if it is at least as good
    on every figure: BPCER, APCER on the replays, and the step times against the labels."""
    pytest.importorskip("dlib", reason="the dlib68 comparison needs the extra realname[dlib]")
    from realname.engines import load_engines

    dlib = evaluate_liveness(
        data_dir, load_engines("yunet", "sface", "dlib68"), policy, lfw_prints=0, nuaa_prints=0
    )
    assert evaluation.bpcer <= dlib.bpcer
    for attack, rate in evaluation.apcer.items():
        assert rate == 0.0, attack
    mesh_steps, dlib_steps = evaluation.step_errors(), dlib.step_errors()
    assert sum(e <= 0.5 for e in mesh_steps) >= sum(e <= 0.5 for e in dlib_steps)
    assert sorted(mesh_steps)[len(mesh_steps) // 2] <= sorted(dlib_steps)[len(dlib_steps) // 2]
    mesh_events, dlib_events = evaluation.event_errors(), dlib.event_errors()
    assert sum(e <= 0.5 for e in mesh_events) >= sum(e <= 0.5 for e in dlib_events)


def _blinks_within(track, policy, spans):
    events, _ = detect_actions(track, policy.liveness.actions)
    return [
        (round(e.peak_s, 6), e.magnitude)
        for e in events
        if e.action == "blink" and any(a <= e.peak_s <= b for a, b in spans)
    ]


def test_the_eye_model_in_a_blink_steps_span_finds_the_blinks_it_finds_on_every_frame(
    data_dir, engines, policy
) -> None:
    """Every live clip with a labelled blink, prompted for it: a blink step whose window holds
    the labelled moment (the prompt 1 s before it). Blinks that peak in the window are the same
    whether the eye model runs in the step's span only (the service) or on every frame."""
    live = policy.liveness
    compared = seen = 0
    for item in _label_items(data_dir):
        labelled = [t for a, t in item.event_times if a == "blink"]
        if item.label != "live" or not labelled:
            continue
        clip = read_data_clip(item.path, EVAL_LIMITS, live.sample_fps, live.analysis_long_side)
        for t in labelled:
            prompt = max(0.0, t - 1.0)
            challenge = Challenge(
                ("blink",), Schedule((prompt,), (prompt + live.prompts.window_s,))
            )
            spans = blink_spans(challenge, live)
            assert spans is not None and len(spans) == 1
            window = [(prompt, prompt + live.prompts.window_s)]
            args = (clip.frames, clip.timestamps_s, engines, policy.search)
            some = extract_signals(*args, detect_every=live.detect_every, eye_spans=spans)
            every = extract_signals(*args, detect_every=live.detect_every)
            assert 0 < some.eyelids < every.eyelids, item.path
            blinks = _blinks_within(every, policy, window)
            assert _blinks_within(some, policy, window) == blinks, item.path
            compared += 1
            seen += bool(blinks)
    assert compared >= 10
    # measured 2026-12-04: 9 of the 10 windows hold a blink (the same, to the frame, both ways)
    assert seen >= 9, f"{seen} of {compared} windows"
