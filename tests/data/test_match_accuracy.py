"""The accuracy targets of the matching engine, measured on ../shared/data at the shipped threshold.

Runs ``realname eval match``'s code once for SFace (about 10 000 embeddings, minutes on 2 cores).
"""

from __future__ import annotations

import pytest

from realname.evaluation.match_eval import MatchEvaluation, evaluate_match
from realname.evaluation.metrics import threshold_at_fmr

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def sface_eval(data_dir, engines, policy) -> MatchEvaluation:
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
) -> None:
    impostor = sface_eval.datasets["lfw_all_impostors"].impostor_scores
    recomputed = threshold_at_fmr(impostor, 1e-4)
    assert recomputed == pytest.approx(policy.operating_point("sface").threshold, abs=2e-4)


def test_lfw_pairs_fnmr_at_most_3_percent(sface_eval: MatchEvaluation) -> None:
    assert sface_eval.datasets["lfw"].fnmr_at_threshold <= 0.03


def test_lfw_chip_portrait_fnmr_at_most_3_5_percent(sface_eval: MatchEvaluation) -> None:
    assert sface_eval.datasets["lfw_chip"].fnmr_at_threshold <= 0.035


def test_nuaa_photo_vs_live_no_false_match_and_no_false_non_match(
    sface_eval: MatchEvaluation,
) -> None:
    # Issue 11 (was FNMR <= 2%): no reference may resolve to the wrong face, FNMR 0%.
    nuaa = sface_eval.datasets["nuaa"]
    assert nuaa.false_matches == 0
    assert nuaa.false_non_matches == 0 and nuaa.failed_to_enrol == 0


def test_chinese_celebrities_no_false_match_and_fnmr_at_most_3_percent(
    sface_eval: MatchEvaluation,
) -> None:
    # Issue 11 (was FNMR <= 6%): 3 of 114 on 2026-12-01 (2.63%), the three pairs of one photo
    # that scores as an impostor (below 0.25) against the other three of its identity.
    celebs = sface_eval.datasets["asian_celebrities"]
    assert celebs.false_matches == 0
    assert celebs.fnmr_at_threshold <= 0.03


def test_nuaa_references_with_several_faces_resolve_to_the_printed_photo(
    data_dir, engines, policy
) -> None:
    """Each NUAA printed-photo reference in which several faces are found (the photo and the
    holder's half-hidden face behind it) resolves, as a reference does in match_faces, to a
    face that matches the subject's live images of its genuine pairs: never the holder's."""
    import csv
    from collections import Counter

    from realname.face.detect import find_faces
    from realname.face.match import enrol_face, locate_face
    from realname.media.image import load_image

    root = data_dir / "nuaa_imposter_raw"
    with (root / "pairs_photo_vs_live.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    subject = {row[0]: row[3] for row in rows}
    live: dict[str, list[str]] = {}  # the subject's live images of genuine pairs, three at most
    for row in rows:
        if row[2].strip() == "1" and len(live.setdefault(row[3], [])) < 3:
            live[row[3]].append(row[1])
    threshold = policy.operating_point("sface").threshold
    resolved: Counter[str] = Counter()
    for reference in sorted(subject):
        probes = live[subject[reference]]
        image = load_image(root / reference)
        if len(find_faces(engines.detector, image, policy.search)) < 2:
            continue
        # Both raise MultipleFacesError where the reference is refused (none was, 2026-12-01).
        resolution = locate_face(image, engines, policy, role="reference").choice.resolution
        ref = enrol_face(image, engines, policy)
        scores = [float(ref.vector @ enrol_face(root / p, engines, policy).vector) for p in probes]
        assert min(scores) >= threshold, (resolution, scores)
        resolved[resolution] += 1
    # 2026-12-01: 16 such references, all resolved by their defects (the holder's face turned,
    # covered, blurred or too small beside a clean photo at least 1.25 times as large).
    assert sum(resolved.values()) >= 10, resolved


def test_sface_beats_the_dlib_baseline_on_east_asian_faces(data_dir, policy, sface_eval) -> None:
    from realname.engines import load_engines

    dlib = evaluate_match(
        data_dir, load_engines("yunet", "dlib-resnet"), policy, names=("nuaa", "asian_celebrities")
    )
    for name in ("nuaa", "asian_celebrities"):
        ours, theirs = sface_eval.datasets[name], dlib.datasets[name]
        assert ours.fnmr_at_threshold + ours.fmr_at_threshold <= (
            theirs.fnmr_at_threshold + theirs.fmr_at_threshold
        ), name
