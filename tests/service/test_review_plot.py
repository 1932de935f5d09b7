"""The review's liveness plot as the service draws it at capture time (issue 13, item 7): in
English and in Chinese, titled "Liveness evidence, capture N", never with the verdict; without a
CJK font only the English one is kept."""

import pytest

import realname.liveness.plot as plot
from realname.liveness.check import LivenessReport
from realname.service import verification
from realname.verify import Verification
from tests.fakes import face_script, fake_engine_policy, judge_scripted


@pytest.fixture(scope="module")
def passed() -> Verification:
    states = face_script(7.0, blinks=((1.5, 0.2),), turns=((3.8, 4.8, 20.0),))
    report = judge_scripted(states, fake_engine_policy())
    assert report.passed
    return Verification(False, ("FACE_MISMATCH",), report, None)


def _titles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    drawn: list[str] = []
    real = plot.plot_title

    def spy(report: LivenessReport, title: str, lang: plot.Language = "en") -> str:
        drawn.append(real(report, title, lang))
        return drawn[-1]

    monkeypatch.setattr(plot, "plot_title", spy)
    return drawn


def test_the_service_draws_both_plots_titled_by_capture_not_verdict(
    passed: Verification, monkeypatch: pytest.MonkeyPatch
) -> None:
    if plot.cjk_font() is None:
        pytest.fail("no CJK font: install fonts-wqy-microhei (.ci/run does)")
    drawn = _titles(monkeypatch)
    english, chinese = verification._plot_pngs(passed, 2)
    assert english is not None and chinese is not None and english != chinese
    assert drawn == ["Liveness evidence, capture 2", "活体证据，第 2 次采集"]
    assert not any(word in t for t in drawn for word in ("PASSED", "FAILED"))


def test_without_a_cjk_font_the_service_keeps_the_english_plot_only(
    passed: Verification, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plot, "cjk_font", lambda: None)
    drawn = _titles(monkeypatch)
    english, chinese = verification._plot_pngs(passed, 1)
    assert english is not None and english[:8] == b"\x89PNG\r\n\x1a\n" and chinese is None
    assert drawn == ["Liveness evidence, capture 1"]
