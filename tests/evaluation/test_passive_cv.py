"""The leave-one-source-out folds of ``realname eval passive`` on made-up cue values."""

from __future__ import annotations

import math

import pytest

from realname.errors import InputError
from realname.evaluation.passive_cv import (
    CUES,
    ClipCues,
    choose_threshold,
    cross_validate,
    source_of,
)

GLARE = next(c for c in CUES if c.name == "glare")


def _clip(source: str, label: str, glare: float, name: str = "") -> ClipCues:
    values = dict.fromkeys((c.name for c in CUES), math.nan)
    values["glare"] = glare
    path = f"{source}/{name or label}.mp4"
    return ClipCues(path, source, label, "screen_replay" if label == "spoof" else "", values, 0.0)


def _clips() -> tuple[ClipCues, ...]:
    return (
        _clip("a", "live", 0.00),
        _clip("b", "live", 0.01),
        _clip("c", "live", 0.02),
        _clip("c", "spoof", 0.30),  # far beyond the live range: caught by any rule
        _clip("d", "spoof", 0.022),  # just beyond: caught only when it tunes the midway rule
        _clip("e", "spoof", 0.0),  # no glare at all: never caught
    )


def test_sources_are_provenance_folders() -> None:
    assert source_of("face_videos/styletalk/x.mp4") == "face_videos/styletalk"
    assert (
        source_of("liveness_videos_github/lestari15/fake.mp4") == "liveness_videos_github/lestari15"
    )
    assert source_of("grid_corpus_samples/bbaf2n.mpg") == "grid_corpus_samples"


def test_the_live_margin_rule_never_looks_at_an_attack() -> None:
    clips = list(_clips())
    live_only = [c for c in clips if c.label == "live"]
    assert choose_threshold(GLARE, clips, "live_margin") == choose_threshold(
        GLARE, live_only, "live_margin"
    )
    # max 0.02, plus a quarter of the 5th-95th percentile spread (0.001-0.019)
    assert choose_threshold(GLARE, clips, "live_margin") == pytest.approx(0.02 + 0.25 * 0.018)
    assert choose_threshold(GLARE, clips, "midway") == pytest.approx((0.02 + 0.022) / 2)
    with pytest.raises(InputError, match="unknown threshold rule"):
        choose_threshold(GLARE, clips, "best")


def test_a_threshold_that_needs_its_own_attack_is_reported_as_in_sample_only() -> None:
    cv = cross_validate(_clips())
    midway = cv.result("glare", "midway")
    assert midway.in_sample_apcer == pytest.approx(1 / 3)
    assert midway.only_in_sample == ("d/spoof.mp4",)
    assert midway.caught == ("c/spoof.mp4",)
    assert midway.apcer == pytest.approx(2 / 3)
    # Left out, source c's live clip (the live maximum) is beyond the others' threshold.
    assert midway.rejected == ("c/live.mp4",)
    assert midway.bpcer == pytest.approx(1 / 3)
    held_out = {f.held_out: f for f in midway.folds}
    assert (held_out["c"].attacks_caught, held_out["c"].live_rejected) == (1, 1)
    # A cue with nothing to judge never fires.
    assert cv.result("moire", "live_margin").caught == ()
    assert cv.result("any", "midway").caught == ("c/spoof.mp4",)
    assert set(cv.to_dict()) >= {"rules", "sources", "results", "clips"}
