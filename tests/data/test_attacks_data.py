"""Every live clip of the data replayed as a recording, and genuine users following prompts
(simulated), against the figures ``realname eval attacks --data ../shared/data`` measured on
2026-12-04 with the face mesh (policy 2026-12-01.2; head pose from the mesh's own points since
2026-12-04, which moved the figures of 2026-12-01: see the README). Same draws and trials as
the command (seeded), so the figures are the command's; the events of the 76 live clips are
measured once for the module (about 2.5 minutes on 2 CPUs, nearly all of this file's 2 min 42
s)."""

from __future__ import annotations

import pytest

from realname.evaluation.attacks import (
    ClipEvents,
    evaluate_clip_replays,
    evaluate_prompted_genuine,
    measure_clip_events,
)

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def clips(data_dir, engines, policy) -> tuple[ClipEvents, ...]:
    return measure_clip_events(data_dir, engines, policy)


def test_live_clips_replayed_unchanged_against_both_rules(clips, policy) -> None:
    live = policy.liveness
    result = evaluate_clip_replays(
        clips, live.prompts, step_timeout_s=live.step_timeout_s, draws=100_000
    )
    assert len(result.rows) == 75
    assert result.refused == ("face_videos/manikantha_liveness/frames_live_crops",)
    # Measured with the face mesh (2026-12-04): one clip passes some prompt-locked draws
    # (2026-12-01, pose solved with the Iris model's eye corners: 0_b4e889c 195, and
    # styletalk happyenglish_clip2 128).
    passing = {r.path: r.new_passed for r in result.rows if r.new_passed}
    assert passing == {"face_videos/fomm_demo_videos/0_b4e889c.mp4": 285}
    # The order-only rule, for contrast: the worst clip passes 12 of the 34 challenges.
    worst = result.worst_old
    assert worst.path == "face_videos/liveportrait/d12.mp4"
    assert (worst.old_passed, worst.old_total) == (12, 34)
    assert sum(r.old_passed > 0 for r in result.rows) == 13


@pytest.mark.xfail(
    strict=True,
    reason="issue 10's target, not met with the face mesh: the replay of fomm 0_b4e889c passes "
    "2.85e-3 of prompt-locked draws (dlib68 saw more unprompted turns in it: 0)",
)
def test_no_live_clip_replayed_unchanged_passes_a_prompt_locked_challenge(clips, policy) -> None:
    live = policy.liveness
    result = evaluate_clip_replays(
        clips, live.prompts, step_timeout_s=live.step_timeout_s, draws=100_000
    )
    assert result.worst_new.new_rate <= 1e-3  # target 1e-3 for every clip


def test_prompted_genuine_users_are_rejected_mostly_for_unprompted_movements(clips, policy) -> None:
    result = evaluate_prompted_genuine(clips, policy.liveness.prompts, trials=1000)
    summary = result.to_dict()
    assert summary["clips"] == 48
    # Measured 39.6% with the face mesh (2026-12-04; 37.5% on 2026-12-01 before liveportrait/d6's
    # left turn at 2.1 s read 12.8 degrees, over the 12 of the rule; 39.6% with dlib68; target
    # 4%): pinned so that a change to the detector, the rule or the simulation updates the
    # documented figure.
    assert result.bpcer == pytest.approx(0.396, abs=0.01)
    assert result.bpcer_unprompted > result.bpcer_missed
    assert summary["clips_not_found"] == 0
    assert len(result.close()) == 7


def test_no_tested_relaxation_of_the_unprompted_rule_meets_both_targets(clips, policy) -> None:
    """Why the rule stays strict: every candidate that forgives natural movement lowers the
    simulated BPCER only by letting a replay or the universal loop through above 1e-3, and none
    comes near the 4% target (measured 2026-12-01 by ``realname eval attacks --data
    ../shared/data --tolerances``; about 50 s here)."""
    from realname.evaluation.tolerance import evaluate_tolerances

    live = policy.liveness
    rows, _ = evaluate_tolerances(clips, live.prompts, live.actions)
    by_name = {r.name: r for r in rows}
    strict = by_name.pop("strict")
    assert strict.loop_passed == 0  # the replays: see the xfail above
    assert strict.bpcer == pytest.approx(0.396, abs=0.01)
    for row in by_name.values():
        assert row.bpcer > 0.04, row
        if row.bpcer < strict.bpcer - 0.01:
            leaks = max(row.replay_passed / row.replay_draws, row.loop_passed / row.loop_draws)
            assert leaks > 1e-3, row
