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
