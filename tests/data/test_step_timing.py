"""Challenge step times against when the action happens, read by eye from the frames.

The label files give observer times, which are not frame-exact and sometimes name another
occurrence of the action; where detector and label disagreed, the frames were looked at
(``realname liveness CLIP --plot`` and contact sheets of the frames) and the time below is what
they show. Each step must be reported within 0.5 s of it.
"""

from __future__ import annotations

import pytest

from realname.evaluation.liveness_eval import EVAL_LIMITS
from realname.liveness.challenge import parse_challenge
from realname.liveness.check import check_liveness
from realname.media.video import load_clip

pytestmark = pytest.mark.data

# clip, challenge (the label's actions in order), and per step: seconds seen by eye (or the times
# of each occurrence seen by eye, where the action happens more than once), or None where the
# step is not judged here.
BY_EYE = [
    # Eyes open in the first frames (the label's blink at 0.0 s starts before the clip); the lids
    # close at 1.96-2.08 s. Turns: yaw extremes at 3.3 s and 6.8 s (labels agree).
    ("face_videos/liveportrait/d12.mp4", "blink,turn_right,turn_left", (2.0, 3.3, 6.8)),
    # No closure at the labelled 1.2 s; the eyes close at 2.40-2.53 s.
    ("face_videos/fomm_demo_videos/2_11e636e.mp4", "blink", (2.45,)),
    # Two closures: 0.27-0.60 s (eyes shut while the head dips) and 1.27-1.40 s, both real; the
    # face mesh reports the first, dlib68 the second. The left turn is not judged here.
    ("face_videos/fomm_demo_videos/0_b4e889c.mp4", "blink,turn_left", ((0.45, 1.3), None)),
    # The right turn as labelled (2.4 s); a 20-degree left turn at 3.9 s, before the labelled 6.7 s.
    ("face_videos/headtrackr/capture4.mp4", "turn_right,turn_left", (2.4, 3.9)),
    # The head goes from -15 to -30 degrees at 3.0 s and turns right again at 6.0 s (the label's
    # time): the mesh reports the second, dlib68 the first.
    ("face_videos/pc_avs/Pose_Source_741400163.mp4", "turn_right", ((3.0, 6.0),)),
]


@pytest.mark.parametrize(("path", "challenge", "seen"), BY_EYE, ids=[b[0] for b in BY_EYE])
def test_steps_are_timed_within_half_a_second_of_the_action(
    data_dir,
    engines,
    policy,
    path: str,
    challenge: str,
    seen: tuple[float | tuple[float, ...] | None, ...],
) -> None:
    live = policy.liveness
    clip = load_clip(
        data_dir / path,
        EVAL_LIMITS,
        sample_fps=live.sample_fps,
        analysis_long_side=live.analysis_long_side,
    )
    report = check_liveness(
        clip,
        parse_challenge(challenge),
        engines,
        policy,
        step_timeout_s=clip.duration_s + 1.0,
    )
    for step, expected in zip(report.steps, seen, strict=True):
        if expected is None:
            continue
        assert step.seen_at_s is not None, (path, step)
        times = expected if isinstance(expected, tuple) else (expected,)
        off = min(abs(step.seen_at_s - t) for t in times)
        assert off <= 0.5, (path, step.action, step.seen_at_s, expected)
