"""The supervisor's liveness plot (issue 13): drawn in English or Chinese, titled by the caller,
never with the verdict; without a CJK font a Chinese plot is drawn in English and says so."""

import pytest

import realname.liveness.plot as plot
from realname.liveness.check import LivenessReport
from tests.fakes import face_script, fake_engine_policy, judge_scripted


@pytest.fixture(scope="module")
def reports() -> tuple[LivenessReport, LivenessReport]:
    """A passed and a failed report of scripted clips (fake engines)."""
    fake = fake_engine_policy()
    out = [
        judge_scripted(face_script(7.0, blinks=((1.5, 0.2),), turns=((3.8, 4.8, turn),)), fake)
        for turn in (20.0, 9.0)
    ]
    return out[0], out[1]


def test_the_title_is_the_callers_and_never_the_verdict(
    reports: tuple[LivenessReport, LivenessReport],
) -> None:
    passed, failed = reports
    assert passed.passed and not failed.passed
    title = plot.plot_title(passed, "Liveness evidence, capture 2")
    assert title == "Liveness evidence, capture 2"
    failed_title = plot.plot_title(failed, "Liveness evidence, capture 1")
    assert failed_title == "Liveness evidence, capture 1\nliveness reasons: CHALLENGE_INCOMPLETE"
    assert plot.plot_title(failed, "活体证据", "zh-CN").endswith("活体原因：CHALLENGE_INCOMPLETE")
    for text in (title, failed_title):
        assert "PASSED" not in text and "FAILED" not in text


def test_the_plot_draws_the_title_it_is_given(
    reports: tuple[LivenessReport, LivenessReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    real = plot.plot_title

    def spy(report: LivenessReport, title: str, lang: plot.Language = "en") -> str:
        drawn.append(real(report, title, lang))
        return drawn[-1]

    monkeypatch.setattr(plot, "plot_title", spy)
    png, lang = plot.render_liveness_plot(reports[0], "Liveness evidence, capture 1")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and lang == "en"
    assert drawn == ["Liveness evidence, capture 1"]


def test_a_chinese_plot_is_drawn_with_a_cjk_font(
    reports: tuple[LivenessReport, LivenessReport],
) -> None:
    if plot.cjk_font() is None:
        pytest.fail("no CJK font: install fonts-wqy-microhei (.ci/run does)")
    # warnings are errors: a glyph missing from the font would fail this test
    zh, lang = plot.render_liveness_plot(reports[1], "活体证据，第 1 次采集", "zh-CN")
    en, _ = plot.render_liveness_plot(reports[1], "Liveness evidence, capture 1", "en")
    assert lang == "zh-CN" and zh[:8] == b"\x89PNG\r\n\x1a\n" and zh != en


def test_without_a_cjk_font_a_chinese_plot_is_drawn_in_english_and_says_so(
    reports: tuple[LivenessReport, LivenessReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plot, "cjk_font", lambda: None)
    zh, lang = plot.render_liveness_plot(reports[1], "Liveness evidence, capture 1", "zh-CN")
    en, _ = plot.render_liveness_plot(reports[1], "Liveness evidence, capture 1", "en")
    assert lang == "en" and zh == en


def test_an_unknown_plot_language_is_an_input_error(
    reports: tuple[LivenessReport, LivenessReport],
) -> None:
    from realname.errors import InputError

    with pytest.raises(InputError):
        plot.render_liveness_plot(reports[0], "x", "fr")  # type: ignore[arg-type]
