import json
from pathlib import Path

import pytest

from realname.errors import PolicyError
from realname.policy import FMR_LABELS, default_policy_path, load_policy, policy_from_dict


def test_shipped_policy_has_calibrated_operating_points_with_provenance() -> None:
    policy = load_policy()
    assert policy.default_fmr == "1e-4"
    for engine in ("sface", "dlib-resnet"):
        calibration = policy.engines[engine]
        points = [calibration.operating_points[label].threshold for label in FMR_LABELS]
        assert points == sorted(points), "a lower FMR needs a higher threshold"
        for label in FMR_LABELS:
            assert calibration.operating_points[label].measured_fmr <= float(label)
        prov = calibration.provenance
        assert prov.impostor_pairs >= 1_000_000 and prov.genuine_pairs > 1000
        assert prov.date and prov.engine_version and "realname calibrate" in prov.command


def test_default_operating_point_is_fmr_1e4() -> None:
    policy = load_policy()
    assert policy.operating_point("sface").fmr_target == "1e-4"
    assert (
        policy.operating_point("sface", "1e-5").threshold
        > policy.operating_point("sface").threshold
    )


def test_when_operating_point_is_unknown_then_policy_error() -> None:
    with pytest.raises(PolicyError):
        load_policy().operating_point("sface", "1e-9")


def test_when_policy_file_is_malformed_then_policy_error(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(PolicyError):
        load_policy(bad)
    with pytest.raises(PolicyError):
        policy_from_dict({"version": "x", "default_fmr": "1e-4", "engines": {"sface": {}}})
    shipped = json.loads(default_policy_path().read_text())
    bad.write_text(json.dumps({**shipped, "quality": {"min_eye_contrast": 1}}))
    with pytest.raises(PolicyError):  # a quality section missing limits
        load_policy(bad)
    bad.write_text(json.dumps({**shipped, "engines": {}}))
    assert load_policy(bad).engines == {}


def test_shipped_prompt_timing_has_provenance_and_a_three_step_capture_fits_in_11_s() -> None:
    live = load_policy().liveness
    assert live is not None
    prompts = live.prompts
    numbers = {"first_prompt_s", "gap_s", "min_reaction_s", "window_s", "tail_s", "steps"}
    assert numbers | {"capture_s", "tolerated"} <= set(prompts.provenance)
    assert all(len(prompts.provenance[name]) > 40 for name in numbers)
    # the page: 1 s settle (the earliest first prompt), the prompts, the last window, 0.5 s
    assert prompts.first_prompt_s[0] >= 1.0 and prompts.tail_s == 0.5
    assert prompts.longest_capture_s(3) <= prompts.capture_s <= 11.0
    assert prompts.tolerated == ("blink",)


def test_when_a_prompt_number_has_no_provenance_then_policy_error(tmp_path: Path) -> None:
    shipped = json.loads(default_policy_path().read_text())
    del shipped["liveness"]["prompts"]["provenance"]["window_s"]
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps(shipped))
    with pytest.raises(PolicyError, match="window_s"):
        load_policy(bad)


def test_shipped_face_search_keeps_the_former_defaults_and_says_where_they_come_from() -> None:
    search = load_policy().search
    assert (
        search.work_long_side,
        search.upsample_below_short_side,
        search.upsample_to_short_side,
        search.upsample_max_pixels,
        search.refine,
        search.fallback_max_side,
        search.fallback_aspect,
        search.fallback_min_grey_std,
        search.landmark_face_px,
        search.refine_below_face_px,
        search.refine_above_roll_deg,
    ) == (320, 200, 300, 500_000, True, 400, (0.6, 1.05), 12.0, 160, 100.0, 10.0)
    assert "4e171fa" in search.provenance and "b1cff63" in search.provenance


def test_when_the_policy_has_no_face_search_then_policy_error(tmp_path: Path) -> None:
    shipped = json.loads(default_policy_path().read_text())
    del shipped["search"]
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps(shipped))
    with pytest.raises(PolicyError, match="search"):
        load_policy(bad)


def test_a_printed_reference_is_judged_at_the_stricter_of_its_own_and_the_engines_point() -> None:
    import dataclasses

    from realname.policy import CardPolicy, OperatingPoint, load_policy

    policy = load_policy()
    assert policy.cards is not None
    assert policy.cards.printed_reference["sface"], "the measured printed-reference points"
    assert "--portraits" in policy.cards.provenance["printed_reference"]
    own = policy.operating_point("sface")
    assert policy.operating_point("sface", reference="printed").threshold >= own.threshold
    stricter = OperatingPoint(own.fmr_target, own.threshold + 0.05, 1e-4, 0.2)
    cards = CardPolicy(
        policy.cards.validity, {"sface": {own.fmr_target: stricter}}, policy.cards.provenance
    )
    strict_policy = dataclasses.replace(policy, cards=cards)
    assert strict_policy.operating_point("sface", reference="printed") == stricter
    assert strict_policy.operating_point("sface") == own
