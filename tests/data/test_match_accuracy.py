"""The accuracy targets of the matching engine, measured on ../shared/data at the shipped threshold.

Runs ``realname eval match``'s code once for SFace (about 10 000 embeddings, minutes on 2 cores).
"""

from __future__ import annotations

import pytest

from realname.evaluation.match_eval import MatchEvaluation, evaluate_match
from realname.evaluation.metrics import threshold_at_fmr

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def sface_eval(data_dir, engines, policy) -> MatchEvaluation:  # type: ignore[no-untyped-def]
    return evaluate_match(data_dir, engines, policy)


def test_every_data_set_was_found(sface_eval: MatchEvaluation) -> None:
    assert set(sface_eval.datasets) == {
        "lfw",
        "lfw_chip",
        "lfw_all_impostors",
        "nuaa",
        "asian_celebrities",
    }
    assert sface_eval.datasets["lfw"].genuine == 2100
    assert sface_eval.datasets["lfw_all_impostors"].impostor > 14_000_000


def test_shipped_threshold_holds_fmr_on_all_lfw_impostor_pairs(sface_eval: MatchEvaluation) -> None:
    assert sface_eval.datasets["lfw_all_impostors"].fmr_at_threshold <= 1.5e-4


def test_shipped_threshold_is_reproduced_by_calibration(
    sface_eval: MatchEvaluation, policy
) -> None:  # type: ignore[no-untyped-def]
    impostor = sface_eval.datasets["lfw_all_impostors"].impostor_scores
    recomputed = threshold_at_fmr(impostor, 1e-4)
    assert recomputed == pytest.approx(policy.operating_point("sface").threshold, abs=2e-4)


def test_lfw_pairs_fnmr_at_most_3_percent(sface_eval: MatchEvaluation) -> None:
    assert sface_eval.datasets["lfw"].fnmr_at_threshold <= 0.03


def test_lfw_chip_portrait_fnmr_at_most_3_5_percent(sface_eval: MatchEvaluation) -> None:
    assert sface_eval.datasets["lfw_chip"].fnmr_at_threshold <= 0.035


def test_nuaa_photo_vs_live_no_false_match_and_fnmr_at_most_2_percent(
    sface_eval: MatchEvaluation,
) -> None:
    nuaa = sface_eval.datasets["nuaa"]
    assert nuaa.false_matches == 0
    assert nuaa.fnmr_at_threshold <= 0.02


def test_chinese_celebrities_no_false_match_and_fnmr_at_most_6_percent(
    sface_eval: MatchEvaluation,
) -> None:
    celebs = sface_eval.datasets["asian_celebrities"]
    assert celebs.false_matches == 0
    assert celebs.fnmr_at_threshold <= 0.06


def test_sface_beats_the_dlib_baseline_on_east_asian_faces(data_dir, policy, sface_eval) -> None:  # type: ignore[no-untyped-def]
    from realname.engines import load_engines

    dlib = evaluate_match(
        data_dir, load_engines("yunet", "dlib-resnet"), policy, names=("nuaa", "asian_celebrities")
    )
    for name in ("nuaa", "asian_celebrities"):
        ours, theirs = sface_eval.datasets[name], dlib.datasets[name]
        assert ours.fnmr_at_threshold + ours.fmr_at_threshold <= (
            theirs.fnmr_at_threshold + theirs.fmr_at_threshold
        ), name
