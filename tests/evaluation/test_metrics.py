import numpy as np

from realname.evaluation.metrics import det_curve, error_rates, fnmr_at_fmr, threshold_at_fmr


def test_threshold_at_fmr_allows_exactly_the_target_share_of_impostors() -> None:
    impostor = np.arange(10_000, dtype=np.float64)  # 0 .. 9999
    threshold = threshold_at_fmr(impostor, 1e-3)
    assert threshold is not None
    assert np.sum(impostor >= threshold) == 10  # 1e-3 of 10 000
    fmr, _ = error_rates(np.array([]), impostor, threshold)
    assert fmr <= 1e-3


def test_when_too_few_impostors_then_fmr_cannot_be_measured() -> None:
    assert threshold_at_fmr(np.zeros(999), 1e-3) is None
    assert fnmr_at_fmr(np.ones(5), np.zeros(999), 1e-3) is None


def test_fnmr_counts_failures_to_enrol_as_non_matches() -> None:
    genuine = np.array([0.9, 0.8, -np.inf, 0.1])
    impostor = np.linspace(-0.5, 0.5, 1000)
    assert fnmr_at_fmr(genuine, impostor, 1e-3) == 0.5


def test_det_curve_is_monotone() -> None:
    rng = np.random.default_rng(1)
    curve = det_curve(rng.normal(0.7, 0.1, 500), rng.normal(0.0, 0.1, 50_000))
    assert np.all(np.diff(curve.fmr) <= 0) and np.all(np.diff(curve.fnmr) >= 0)
