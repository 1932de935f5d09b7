"""FACE_OCCLUDED on ../shared/data (issue 10): no false alarm on any real face, and the synthetic
occlusions that cover a third of the face or more caught, as ``realname eval occlusion`` measures
them. A subsample of the command's run, to stay near a minute and a half on 2 CPUs: LFW_SAMPLE LFW
images (and every 5th as a chip), every other still, every FRAME_STEP-th sampled frame of every
clip, occlusions drawn over every SYNTHETIC_EVERY-th clean face. The leave-one-source-out figures
need every face (the command: README); on a subsample the sources left in are too few."""

from __future__ import annotations

import pytest

from realname.evaluation.occlusion_eval import OcclusionEvaluation, evaluate_occlusion

pytestmark = pytest.mark.data

LFW_SAMPLE = 250
FRAME_STEP = 12
SYNTHETIC_EVERY = 7


@pytest.fixture(scope="module")
def result(data_dir, engines, policy) -> OcclusionEvaluation:
    return evaluate_occlusion(
        data_dir,
        engines,
        policy,
        lfw_sample=LFW_SAMPLE,
        frame_step=FRAME_STEP,
        synthetic_every=SYNTHETIC_EVERY,
    )


def test_no_real_face_of_the_data_is_flagged_as_covered(result: OcclusionEvaluation) -> None:
    assert result.false_alarms() == []
    sources = result.per_source()
    assert {"lfw", "lfw_chip", "nuaa_live", "nuaa_print", "asian_celebrities"} <= set(sources)
    assert {"clip_face_videos", "clip_grid_corpus_samples", "clip_liveness_videos_github"} <= set(
        sources
    )


def test_the_live_clip_of_a_man_in_a_kn95_mask_is_flagged(result: OcclusionEvaluation) -> None:
    masked = [f for f in result.real if f.path == "face_videos/zalo_liveness_vuhung/1.mp4"]
    assert masked and all(f.flagged for f in masked if f.judged)


@pytest.mark.xfail(
    strict=True,
    reason="issue 10's target (95% flagged FACE_OCCLUDED) is not met: the full command measured "
    "89.1% (2026-12-01); under a large cover YuNet moves the landmarks off the cover",
)
def test_synthetic_occlusions_over_a_third_of_the_face_are_flagged_at_the_target_rate(
    result: OcclusionEvaluation,
) -> None:
    assert result.detection(1 / 3)["rate_flagged"] >= 0.95


def test_synthetic_occlusions_over_a_third_of_the_face_are_caught_as_measured(
    result: OcclusionEvaluation,
) -> None:
    third = result.detection(1 / 3)
    # The full command: 89.1% of 1,094 flagged FACE_OCCLUDED, 98.0% refused by quality all the
    # same. This subsample (seeded, so exact): pinned so that a change shows.
    assert third["occlusions"] == 343
    assert third["rate_flagged"] == pytest.approx(0.848, abs=0.02), result.breakdown("kind_size")
    assert third["rate_refused"] >= 0.95, result.breakdown("kind_size")
    masks = [s for s in result.synthetic if s.kind == "mask"]
    assert sum(s.flagged for s in masks) / len(masks) >= 0.95


def test_the_cues_cost_well_under_2_ms_a_face(result: OcclusionEvaluation) -> None:
    assert result.microseconds_per_face < 2000
