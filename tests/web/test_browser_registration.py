"""The outlet's pages in a real browser, as a clerk and a supervisor use them, with the real
engines judging what the browser's MediaRecorder uploads.

The fake camera plays real clips of ../shared/data (a .y4m written at test time):
headtrackr/capture4 (a person at a webcam who turns right, left, right and left, then holds
still for 8 s) from 0.3 s on, so the ID portrait (cut from its first frame) is never one of the
frames matched and the page's 11 s recording ends before the camera loops the clip; and the
manikantha phone-screen replay whose face turns left, from 6 s on.

The service runs in dev mode with a fixed challenge, so the page's prompts come at known times:
for capture4 an explicit schedule (:data:`LIVE_CHALLENGE`) chosen from the clip's measured
actions (clip time, after the 0.3 s cut, dlib68 landmarks: turn right onset 1.52 s, peak 1.91 s;
turn left 2.99 s, 3.63 s; turn right 4.72 s, 5.26 s; turn left 5.99 s, 6.53 s; no other action
but blinks within 11.8 s; the face mesh, 2026-12-01: 1.43/2.07, 2.90/3.44, 4.57/5.11,
5.90/6.44 s), so that each prompt comes at least the policy's 0.2 s reaction time
before its action begins and each peak lies before its window's end (prompt + 2.2 s) for any
recording start up to 0.8 s into the loop (checked by judging the clip cut at 0.3, 0.7 and
1.1 s). liveportrait/d12, used before, shows a real left turn before its first prompt and an
open mouth between two windows: the prompt-locked rule rightly refuses it (UNPROMPTED_ACTION).
The replay gets the policy's fixed schedule (``turn_left@1.00-3.20``). The camera loops its file
from when the page opens it; the test presses Start 1.2 s before the recording should begin
(read from the preview's ``currentTime``), the page asks for the challenge, and its
MediaRecorder.start is held (in the test's browser only) until the loop is 0.3 s in, whatever
the load; the page shows each prompt at its offset from the recorder's start.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from realname.identity.idcard import check_character, mask_id_number
from realname.media.video import decode_clip
from realname.service.api.web import STATIC_DIR
from realname.service.app import create_app
from realname.service.verification import Assessment, CaptureJob, EngineVerifier
from tests.data.test_service_registration import chip_portrait, read_frames
from tests.service.conftest import PASSWORD, card_form, make_settings, populate
from tests.web.conftest import (
    Browsing,
    LiveServer,
    Shots,
    save_measurements,
    start_server,
    write_y4m,
)

pytestmark = pytest.mark.data
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])"
)

LIVE = "face_videos/headtrackr/capture4.mp4"
LIVE_CHALLENGE = "turn_right@0.40-2.60,turn_left@1.80-4.00,turn_right@3.50-5.70,turn_left@4.80-7.00"
LIVE_STEPS = [
    ("turn_right", 0.4, 2.6),
    ("turn_left", 1.8, 4.0),
    ("turn_right", 3.5, 5.7),
    ("turn_left", 4.8, 7.0),
]
LIVE_START_S = 0.3
LIVE_CALM_S = None  # the clip holds still for 8 s after its last turn: long enough
LIVE_ZOOM = 1.25  # its face is 21.7% of the frame's width; the framing guide wants 22%
LETTERBOX = "face_videos/liveportrait/d12.mp4"  # a square clip
CAPTURE_MS = 11_000  # liveness.prompts.capture_s: every capture records this long
REPLAY = "face_videos/manikantha_liveness/fake.mp4"
REPLAY_CHALLENGE = "turn_left"
REPLAY_START_S = 6.0
LOOP_WINDOW_S = 0.4  # press Start within this much of a loop's start
# Where in the fake camera's loop the recording starts: the middle of the 0-0.8 s that the
# capture4 schedule tolerates (see the module's docstring), whatever the load.
RECORD_AT_S = 0.3
PRESS_BEFORE_S = 1.2  # Start is pressed this long before RECORD_AT_S; the page then waits
VERDICT_TIMEOUT_MS = 180_000

ID_FIRST17 = "11010119900307457"
ID_NUMBER = ID_FIRST17 + check_character(ID_FIRST17)
MSISDN = "13812345678"
MSISDN_MASKED = "138****5678"

ZH = json.loads((STATIC_DIR / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
EN = json.loads((STATIC_DIR / "i18n" / "en.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ set-up


@dataclasses.dataclass
class Clip:
    y4m: Path
    loop_s: float
    portrait: Path


def prepare_clip(
    data_dir: Path,
    tmp_path: Path,
    engines: Any,
    name: str,
    start_s: float,
    calm_s: tuple[float, float] | None = None,
    zoom: float = 1.0,
) -> Clip:
    """The clip from ``start_s``; with ``calm_s``, then that stretch played forth and back
    until the whole file outlasts a recording started up to 1.5 s into it. ``zoom`` > 1: the
    camera sees the middle 1/zoom of each frame (around the first frame's face), as if the
    customer sat that much closer: the framing guide asks for a face at least 22% of the
    frame's width."""
    frames, fps = read_frames(data_dir / name)
    portrait = tmp_path / "portrait.png"
    portrait.write_bytes(chip_portrait(frames[0], engines))
    y4m = tmp_path / "camera.y4m"
    played = frames[round(start_s * fps) :]
    if zoom != 1.0:
        played = [zoomed(f, zoom, engines.detector.detect(frames[0])[0]) for f in played]
    if calm_s is not None:
        calm = frames[round(calm_s[0] * fps) : round(calm_s[1] * fps)]
        swing = calm + calm[-2:0:-1]
        while len(played) < (CAPTURE_MS / 1000 + 1.5) * fps:
            played += swing
    loop_s = write_y4m(played, fps, y4m, 0.0)
    return Clip(y4m, loop_s, portrait)


def zoomed(frame: np.ndarray, zoom: float, face: Any) -> np.ndarray:
    """The middle 1/``zoom`` of ``frame`` (same aspect), centred on ``face`` where it can be."""
    height, width = frame.shape[:2]
    w, h = round(width / zoom), round(height / zoom)
    x, y, fw, fh = face.box
    left = min(max(round(x + fw / 2 - w / 2), 0), width - w)
    top = min(max(round(y + fh / 2 - h / 2), 0), height - h)
    return np.ascontiguousarray(frame[top : top + h, left : left + w])


@contextmanager
def serving(
    tmp_path: Path, challenge: str, verifier: Any = None, **overrides: Any
) -> Iterator[LiveServer]:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'realname.db'}",
        dev_mode=True,
        dev_fixed_challenge=challenge,
        **overrides,
    )
    app = create_app(settings, verifier=verifier, periodic_tasks=False)
    if hasattr(verifier, "ctx"):  # a test's verifier wrapping the real one needs the policy
        verifier.ctx = app.state.ctx
    server = start_server(app)
    try:
        populate(app.state.ctx)
        yield server
    finally:
        server.stop()


class BorderlineVerifier:
    """The real engines judge the clip; the match score is then set inside the review band
    (the live clip matches its own portrait clearly, so no real case lands in review). The
    supervisor sees the real portrait, the real best frame and the real liveness plot."""

    def __init__(self, engines: Any) -> None:
        self.engines = engines
        self.ctx: Any = None

    def __call__(self, job: CaptureJob) -> Assessment:
        ctx = self.ctx
        real = EngineVerifier(self.engines, ctx.policy, ctx.video_limits, ctx.image_limits)
        assessment = real(job)
        if not assessment.liveness_passed or assessment.threshold is None:
            return assessment  # the test then fails on the page's verdict, with its reasons
        review = ctx.review_threshold(assessment.engine)
        score = (assessment.threshold + review) / 2
        details = copy.deepcopy(assessment.details)
        details["match"].update(score=score, passed=False)
        return dataclasses.replace(
            assessment,
            match_passed=False,
            score=score,
            reasons=("FACE_MISMATCH",),
            details=details,
        )


@dataclasses.dataclass
class Upload:
    started: float = 0.0
    answered: float = 0.0
    answer: dict[str, Any] = dataclasses.field(default_factory=dict)
    advice: list[str] = dataclasses.field(default_factory=list)  # the service's framing advice
    challenges: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # as issued


def watch_capture(page: Any) -> Upload:
    """When the page uploads to ``/capture`` and when the verdict comes back (the body itself
    is read at the server: ``LiveServer.tap``)."""
    upload = Upload()

    def on_request(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/capture"):
            upload.started = time.perf_counter()

    def on_response(response: Any) -> None:
        if response.request.method == "POST" and response.url.endswith("/capture"):
            upload.answered = time.perf_counter()
            upload.answer = response.json()
        if response.request.method == "POST" and response.url.endswith("/challenge"):
            upload.challenges.append(response.json())
        if response.request.method == "POST" and response.url.endswith("/framing"):
            upload.advice.append(response.json().get("advice", f"HTTP {response.status}"))

    page.on("request", on_request)
    page.on("response", on_response)
    return upload


def multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    boundary = re.search(r"boundary=\"?([^\";]+)", content_type)
    assert boundary, content_type
    parts: dict[str, bytes] = {}
    for chunk in body.split(b"--" + boundary.group(1).encode()):
        head, sep, data = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        if sep and name:
            parts[name.group(1).decode()] = data.removesuffix(b"\r\n")
    return parts


def measure(server: LiveServer, upload: Upload, recording_ms: int) -> dict[str, Any]:
    """What MediaRecorder sent, decoded as the service decodes it (every frame kept)."""
    tapped = server.tap.bodies[-1]
    clip = multipart(tapped.body, tapped.content_type)["clip"]
    decoded = decode_clip(clip, sample_fps=None, analysis_long_side=None)
    height, width = decoded.frames[0].shape[:2]
    return {
        "page_recording_s": recording_ms / 1000,
        "upload_bytes": len(clip),
        "container": "webm" if clip[:4] == b"\x1a\x45\xdf\xa3" else "other",
        "decoded_frames": len(decoded.frames),
        "decoded_duration_s": round(decoded.duration_s, 3),
        "decoded_fps": round(len(decoded.frames) / decoded.duration_s, 2),
        "size": f"{width}x{height}",
        "upload_to_verdict_s": round(upload.answered - upload.started, 2),
        "verdict": upload.answer.get("verdict"),
        "reasons": upload.answer.get("reasons"),
    }


# ------------------------------------------------------------------ what a person does


def sign_in(
    page: Any, server: LiveServer, username: str, t: dict[str, str], shots: Shots | None = None
) -> None:
    page.goto(server.url + "/")
    page.get_by_role("heading", name=t["signin.heading"]).wait_for()
    if shots is not None:
        shots(page, "sign-in")
    page.get_by_label(t["signin.username"]).fill(username)
    page.get_by_label(t["signin.password"]).fill(PASSWORD)
    page.get_by_role("button", name=t["signin.submit"], exact=True).click()


def accept_by_keyboard(page: Any, name: str) -> None:
    """Tab from the step's heading to the button and press Enter, as a keyboard user would."""
    page.get_by_role("heading", name=ZH["consent.heading"]).wait_for()
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent") == name:
            break
    else:
        raise AssertionError(f"Tab never reached the button {name!r}")
    page.keyboard.press("Enter")


READER_TEXT = f"""姓名: 张三
性别: 男
民族: 汉
出生: 1990年03月07日
住址: 北京市东城区某街1号
公民身份号码: {ID_NUMBER}
签发机关: 北京市公安局东城分局
有效期起: 2020.01.01
有效期至: 长期
"""


def paste_card(page: Any, portrait: Path, t: dict[str, str]) -> None:
    """What a card reader gives, pasted (its own field names and date formats)."""
    page.get_by_text(t["card.reader.summary"]).click()
    page.get_by_label(t["card.reader.label"]).fill(READER_TEXT)
    page.get_by_role("button", name=t["card.reader.fill"]).click()
    page.get_by_text(t["card.reader.filled"].format(count=9)).wait_for()
    assert page.get_by_label(t["card.id_number"]).input_value() == ID_NUMBER
    assert page.get_by_label(t["card.valid_from"]).input_value() == "2020-01-01"
    assert page.get_by_label(t["card.birth_date"]).input_value() == "1990-03-07"
    assert page.get_by_label(t["card.long_term"]).is_checked()
    page.get_by_label(t["card.portrait"]).set_input_files(str(portrait))


def fill_card(page: Any, portrait: Path, t: dict[str, str]) -> None:
    page.get_by_label(t["card.name"]).fill("张三")
    id_field = page.get_by_label(t["card.id_number"])
    id_field.fill(ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1"))
    id_field.blur()
    page.locator("#card-id-error").filter(has_text=t["card.id_number.invalid_check"]).wait_for()
    id_field.fill(ID_NUMBER)
    id_field.blur()  # a valid number fills the birth date and sex
    assert page.get_by_label(t["card.birth_date"]).input_value() == "1990-03-07"
    assert page.get_by_label(t["card.sex"]).input_value() == "男"
    page.get_by_label(t["card.ethnicity"]).fill("汉")
    page.get_by_label(t["card.address"]).fill("北京市东城区某街1号")
    page.get_by_label(t["card.issuing_authority"]).fill("北京市公安局东城分局")
    page.get_by_label(t["card.valid_from"]).fill("2020-01-01")
    page.get_by_label(t["card.long_term"]).check()
    page.get_by_label(t["card.portrait"]).set_input_files(str(portrait))


# The fake camera plays a fixed clip and cannot react to the prompts, so the recording must
# start at a known point of its loop. Pressing Start at the right moment is not enough: the
# page then asks the service for the challenge, and on a loaded machine that round trip has
# taken over 0.6 s (the recording began 1.0 s into the loop and every turn came "too early").
# So, in the test's browser only, MediaRecorder.start is held until the camera's loop reaches
# ``at`` (when the call comes at most ``wait`` seconds before it; a later call starts at once,
# and the phase it started at is kept for the failure message). The page times its prompts
# from the recorder's start event, so prompts and clip stay aligned.
_ALIGN_JS = """([loop, at, wait]) => {
  if (MediaRecorder.prototype.__aligned) return;
  const start = MediaRecorder.prototype.start;
  MediaRecorder.prototype.start = function (...args) {
    const video = document.getElementById('camera');
    const phase = () => video.currentTime % loop;
    const go = () => {
      window.__recordPhase = phase();
      start.apply(this, args);
    };
    const hold = () => ((at - phase()) % loop + loop) % loop;
    const check = () => (hold() > wait || hold() < 0.01 ? go() : setTimeout(check, 2));
    check();
  };
  MediaRecorder.prototype.__aligned = true;
}"""


def press_start_on_loop(page: Any, clip: Clip, start: Any) -> None:
    """Press ``start`` so that the page's recording begins :data:`RECORD_AT_S` into a loop of
    the fake camera's clip (see ``_ALIGN_JS``)."""
    page.evaluate(_ALIGN_JS, [clip.loop_s, RECORD_AT_S, PRESS_BEFORE_S + 1.0])
    press_at = (RECORD_AT_S - PRESS_BEFORE_S) % clip.loop_s
    page.wait_for_function(
        "([loop, from, window]) => { const v = document.getElementById('camera');"
        " const p = v.currentTime % loop;"
        " return v.currentTime > 0.5 && p >= from && p < from + window; }",
        arg=[clip.loop_s, press_at, LOOP_WINDOW_S],
        polling=10,
        timeout=3 * clip.loop_s * 1000,
    )
    start.click()


def record_phase(page: Any) -> str:
    """Where in the camera's loop the recording began (for a failure message)."""
    phase = page.evaluate("() => window.__recordPhase")
    return "unknown" if phase is None else f"{phase:.2f} s (aimed at {RECORD_AT_S} s)"


def capture(page: Any, clip: Clip, shots: Shots, t: dict[str, str], prompt_at_ms: int) -> None:
    start = page.get_by_role("button", name=t["capture.start"])
    start.wait_for()
    page.wait_for_function(
        "() => { const v = document.getElementById('camera');"
        " return v && v.readyState >= 2 && v.videoWidth > 0; }"
    )
    page.wait_for_function("() => document.getElementById('framing').textContent !== ''")
    shots(page, "capture-preview")
    press_start_on_loop(page, clip, start)
    page.wait_for_timeout(prompt_at_ms)
    shots(page, "capture-prompt", both=False)


def verdict_of(page: Any) -> str:
    verdict = page.locator("#verdict[data-verdict]")
    error = page.locator("#capture-error:not([hidden])")
    verdict.or_(error).first.wait_for(timeout=VERDICT_TIMEOUT_MS)
    if error.is_visible():  # the capture could not be judged: say why at once
        raise AssertionError(f"no verdict: {error.inner_text()}")
    return str(verdict.get_attribute("data-verdict"))


def bind_number(page: Any, shots: Shots, t: dict[str, str]) -> None:
    page.get_by_role("button", name=t["result.to_number"]).click()
    count = t["number.active"].format(n=0, max=5)
    page.locator("#number-count").filter(has_text=count).wait_for()
    assert page.locator("#number-id").text_content() == mask_id_number(ID_NUMBER)
    field = page.get_by_label(t["number.input"], exact=True)
    field.fill("1381234567")
    page.get_by_role("button", name=t["number.bind"]).click()
    assert page.locator("#msisdn-error").text_content() == t["number.invalid_length"]
    shots(page, "number-invalid", both=False)
    field.fill(MSISDN)
    page.get_by_role("button", name=t["number.bind"]).click()
    page.locator("#number-list li", has_text=MSISDN_MASKED).wait_for()
    assert page.locator("#number-count").text_content() == t["number.active"].format(n=1, max=5)
    assert MSISDN not in page.content()  # the page shows the number masked only
    shots(page, "number-bound")


def check_receipt(page: Any, shots: Shots, t: dict[str, str], how: str) -> None:
    page.get_by_role("button", name=t["number.to_receipt"]).click()
    receipt = page.locator("#receipt")
    receipt.wait_for()
    text = receipt.inner_text()
    for expected in (mask_id_number(ID_NUMBER), MSISDN_MASKED, "Outlet A", "clerk_a", t[how]):
        assert expected in text, (expected, text)
    assert ID_NUMBER not in page.content()
    assert receipt.locator("img, video, canvas, svg").count() == 0
    shots(page, "receipt")
    page.emulate_media(media="print")
    page.screenshot(path=str(shots.folder / "receipt-print.png"), full_page=True)
    assert page.locator("header.bar").is_hidden()
    assert page.locator("#receipt").is_visible()
    page.emulate_media(media="screen")


def sign_out(page: Any, server: LiveServer, t: dict[str, str]) -> None:
    token = page.evaluate("() => sessionStorage.getItem('realname.token')")
    assert token
    page.get_by_role("button", name=t["nav.signout"]).click()
    page.wait_for_url("**/web/")
    page.get_by_role("button", name=t["signin.submit"], exact=True).wait_for()
    assert page.evaluate("() => sessionStorage.getItem('realname.token')") is None
    request = urllib.request.Request(
        server.url + "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()
    assert refused.value.code == 401  # the token was revoked, not just forgotten


def assert_local_only(browsing: Browsing) -> None:
    assert browsing.urls, "no request was seen"
    assert browsing.foreign_hosts() == [], browsing.foreign_hosts()
    assert browsing.console_errors == [], browsing.console_errors


# ------------------------------------------------------------------ the tests


def test_a_clerk_registers_a_live_customer_and_binds_a_number(
    tmp_path: Path, data_dir: Path, engines: Any, browser_on: Any, shots: Shots, artifacts: Path
) -> None:
    clip = prepare_clip(data_dir, tmp_path, engines, LIVE, LIVE_START_S, LIVE_CALM_S, LIVE_ZOOM)
    browsing = browser_on(clip.y4m)
    t = ZH
    with serving(tmp_path, LIVE_CHALLENGE) as server:
        page = browsing.context(locale="zh-CN").new_page()
        upload = watch_capture(page)
        sign_in(page, server, "clerk_a", t, shots)
        page.get_by_role("heading", name=t["consent.heading"]).wait_for()
        assert page.url.endswith("/web/desk.html")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        shots(page, "consent")
        page.get_by_role("button", name=t["consent.accept"]).click()

        page.get_by_role("heading", name=t["card.heading"]).wait_for()
        fill_card(page, clip.portrait, t)
        shots(page, "card")
        page.get_by_role("button", name=t["card.submit"]).click()

        page.get_by_role("heading", name=t["capture.heading"]).wait_for()
        # No action is known before Start: the page asks for the challenge only then.
        assert page.locator("#challenge-list").count() == 0 and upload.challenges == []
        for action in ("turn_right", "turn_left"):
            assert t[f"action.{action}"] not in page.locator("#step-capture").inner_text()
        capture(page, clip, shots, t, prompt_at_ms=2400)  # the second step's prompt
        ((issued,),) = [upload.challenges]
        steps = [(x["action"], x["prompt_s"], x["window_end_s"]) for x in issued["steps"]]
        assert steps == LIVE_STEPS and issued["capture_s"] * 1000 == CAPTURE_MS
        # Chromium here has no FaceDetector: the page asked the service where the face is.
        assert "OK" in upload.advice, upload.advice
        verdict = verdict_of(page)
        shots(page, "result")
        # what the browser recorded and the service decoded, kept whatever the verdict (the frame
        # rate depends on the machine's load: a measurement, not an assertion)
        measured = measure(server, upload, CAPTURE_MS)
        save_measurements(artifacts, "live_capture4", measured)
        assert verdict == "passed", (record_phase(page), page.locator("#step-result").inner_text())
        assert page.locator("#verdict").text_content() == t["result.passed"]
        assert measured["container"] == "webm" and measured["size"] == "640x480"
        # The whole capture of a three-step challenge fits in 11 s at the page.
        assert 10.0 <= measured["decoded_duration_s"] <= 11.3, measured
        # The frame rate the browser records depends on the machine's load (8.55 fps was seen
        # on a loaded CI machine, 15 fps on a quiet one): it is recorded in the measurements,
        # not asserted; the verdict above is what the customer needs (issue 13).

        bind_number(page, shots, t)
        check_receipt(page, shots, t, "receipt.result.passed")

        # the next customer refuses the face check: the manual procedure, shown clearly
        page.get_by_role("button", name=t["desk.new"]).click()
        page.get_by_role("button", name=t["consent.refuse"]).click()
        page.get_by_role("heading", name=t["manual.heading"]).wait_for()
        assert re.fullmatch(r"[0-9a-f-]{36}", page.locator("#manual-session").inner_text())
        assert page.locator("#session-clock").is_hidden()
        shots(page, "consent-refused")
        sign_out(page, server, t)
    assert_local_only(browsing)


def test_a_screen_replay_fails_with_its_reason_on_a_tablet_in_english(
    tmp_path: Path, data_dir: Path, engines: Any, browser_on: Any, shots: Shots, artifacts: Path
) -> None:
    clip = prepare_clip(data_dir, tmp_path, engines, REPLAY, REPLAY_START_S)
    browsing = browser_on(clip.y4m)
    t = EN
    with serving(tmp_path, REPLAY_CHALLENGE) as server:
        page = browsing.context(locale="en-US", width=768, height=1024).new_page()
        upload = watch_capture(page)
        sign_in(page, server, "clerk_a", t, shots)
        page.get_by_role("button", name=t["consent.accept"]).click()
        paste_card(page, clip.portrait, t)
        shots(page, "card-pasted")
        page.get_by_role("button", name=t["card.submit"]).click()
        page.get_by_role("heading", name=t["capture.heading"]).wait_for()
        capture(page, clip, shots, t, prompt_at_ms=2200)
        assert upload.advice, "the page never asked the service for framing advice"
        verdict = verdict_of(page)
        shots(page, "result")
        assert verdict == "failed", page.locator("#step-result").inner_text()
        assert page.locator("#verdict").text_content() == t["result.failed"]
        reasons = page.locator("#result-reasons li")
        codes = [reasons.nth(i).get_attribute("data-code") for i in range(reasons.count())]
        assert codes == upload.answer["reasons"] and codes, codes
        for i, code in enumerate(codes):
            assert reasons.nth(i).inner_text().startswith(t[f"reason.{code}"]), code
        # a replay cue, not only a missed action (seen here: SCREEN_BORDER, GLARE, COLOUR_CAST)
        cues = {"SCREEN_BORDER", "GLARE", "MOIRE", "COLOUR_CAST", "BANDING", "FLAT_FACE"}
        assert cues & set(codes), codes
        assert page.get_by_role("button", name=t["result.retry"]).is_visible()
        assert (
            t["capture.attempts_left"].format(n=2) in page.locator("#result-attempts").inner_text()
        )
        assert [x["action"] for x in upload.challenges[-1]["steps"]] == ["turn_left"]
        save_measurements(artifacts, "replay_manikantha", measure(server, upload, CAPTURE_MS))

        large = page.get_by_role("button", name=t["text.large"])
        large.click()
        assert "large-text" in str(page.locator("html").get_attribute("class"))
        assert large.get_attribute("aria-pressed") == "true"
        shots(page, "result-large-text", both=False)
        large.click()

        # the switch gives the same page in Chinese
        page.get_by_role("button", name=t["lang.switch.label"]).click()
        page.locator("#verdict").filter(has_text=ZH["result.failed"]).wait_for()
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        shots(page, "result-zh", both=False)
    assert_local_only(browsing)


def test_a_supervisor_approves_a_borderline_case_and_the_clerk_binds(
    tmp_path: Path, data_dir: Path, engines: Any, browser_on: Any, shots: Shots
) -> None:
    clip = prepare_clip(data_dir, tmp_path, engines, LIVE, LIVE_START_S, LIVE_CALM_S, LIVE_ZOOM)
    browsing = browser_on(clip.y4m)
    t = ZH
    with serving(tmp_path, LIVE_CHALLENGE, verifier=BorderlineVerifier(engines)) as server:
        clerk = browsing.context(locale="zh-CN").new_page()
        sign_in(clerk, server, "clerk_a", t)
        accept_by_keyboard(clerk, t["consent.accept"])
        fill_card(clerk, clip.portrait, t)
        clerk.get_by_role("button", name=t["card.submit"]).click()
        clerk.get_by_role("heading", name=t["capture.heading"]).wait_for()
        capture(clerk, clip, shots, t, prompt_at_ms=5000)
        verdict = verdict_of(clerk)
        assert verdict == "review", clerk.locator("#step-result").inner_text()
        shots(clerk, "clerk-review")

        boss = browsing.context(locale="zh-CN").new_page()
        sign_in(boss, server, "supervisor_a", t)
        boss.get_by_role("heading", name=t["reviews.heading"]).wait_for()
        assert boss.url.endswith("/web/reviews.html")
        rows = boss.locator("#review-rows tr")
        rows.first.wait_for()
        assert rows.count() == 1
        shots(boss, "queue")
        boss.get_by_role("button", name=t["reviews.open"]).click()
        for image in ("ev-portrait", "ev-frame", "ev-plot"):
            boss.wait_for_function(
                f"() => {{ const i = document.getElementById('{image}');"
                " return i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:'); }"
            )
        reasons = boss.locator("#detail-reasons li")
        # the supervisor's own reason and sentence, written for a decision (issue 13, item 7)
        assert reasons.first.get_attribute("data-code") == "MATCH_BORDERLINE"
        assert reasons.first.inner_text().startswith(t["review.reason.MATCH_BORDERLINE"])
        score = boss.locator("#detail-scores dd[data-key='reviews.score']").inner_text()
        threshold = boss.locator("#detail-scores dd[data-key='reviews.threshold']").inner_text()
        assert float(score) < float(threshold)
        assert boss.locator("#detail-steps tr").count() == len(LIVE_STEPS)
        assert boss.locator("#detail-checks tr").count() >= 5
        shots(boss, "review-detail")

        boss.get_by_role("button", name=t["reviews.approve"]).click()
        assert boss.locator("#decision-error").text_content() == t["reviews.reason.missing"]
        boss.get_by_label(t["reviews.reason"]).fill("证件照与现场帧为同一人：眼镜、发型一致")
        boss.get_by_role("button", name=t["reviews.approve"]).click()
        boss.locator("#decision-status [data-state='approved']").wait_for()
        boss.locator("#reviews-empty").wait_for()
        shots(boss, "review-approved")

        # the clerk's page shows the decision by itself (no button to find)
        clerk.locator("#verdict[data-verdict='approved']").wait_for(timeout=20_000)
        bind_number(clerk, shots, t)
        check_receipt(clerk, shots, t, "receipt.result.approved")
    assert_local_only(browsing)


def test_the_letterboxed_clip_keeps_the_frame_unstretched(data_dir: Path) -> None:
    from tests.web.conftest import letterbox

    frames, _ = read_frames(data_dir / LETTERBOX)
    boxed = letterbox(frames[0])
    assert boxed.shape == (480, 640, 3)
    inner = cv2.resize(frames[0], (480, 480), interpolation=cv2.INTER_AREA)
    assert np.abs(boxed[:, 80:560].astype(int) - inner.astype(int)).mean() < 1.0


def test_an_expired_session_is_told_to_the_clerk_and_refused_by_the_service(
    tmp_path: Path, data_dir: Path, engines: Any, browser_on: Any, shots: Shots
) -> None:
    clip = prepare_clip(data_dir, tmp_path, engines, LIVE, LIVE_START_S)
    browsing = browser_on(clip.y4m)
    t = EN
    with serving(tmp_path, LIVE_CHALLENGE, session_ttl_s=10) as server:
        page = browsing.context(locale="en-US").new_page()
        sessions: list[dict[str, Any]] = []
        page.on(
            "response",
            lambda r: sessions.append(r.json()) if r.url.endswith("/api/v1/sessions") else None,
        )
        sign_in(page, server, "clerk_a", t)
        page.get_by_role("button", name=t["consent.accept"]).click()
        page.get_by_role("heading", name=t["card.heading"]).wait_for()
        fill_card(page, clip.portrait, t)
        # The page's own clock runs out first and says so ...
        page.locator("#desk-error").filter(has_text=t["error.SESSION_EXPIRED"]).wait_for(
            timeout=20_000
        )
        shots(page, "session-expired")
        # ... disables the card's submission and offers a new registration (issue 13, item 4)
        assert page.get_by_role("button", name=t["card.submit"]).is_disabled()
        assert page.locator("#desk-new").get_by_role("button", name=t["desk.new"]).is_visible()
        # ... and the service refuses the card all the same (it never trusts the page).
        token = page.evaluate("() => sessionStorage.getItem('realname.token')")
        session_id = sessions[0]["id"]
        answer = page.request.put(
            f"{server.url}/api/v1/sessions/{session_id}/id-card",
            headers={"Authorization": f"Bearer {token}"},
            multipart=dict(
                card_form(),
                portrait={
                    "name": "portrait.png",
                    "mimeType": "image/png",
                    "buffer": clip.portrait.read_bytes(),
                },
            ),
        )
        assert answer.status == 409
        assert answer.json()["code"] == "SESSION_EXPIRED"
    assert browsing.foreign_hosts() == [], browsing.foreign_hosts()
    # Chromium logs the refused request itself; nothing else may go wrong on the page.
    refused = "Failed to load resource: the server responded with a status of 409 (Conflict)"
    assert [e for e in browsing.console_errors if e != refused] == [], browsing.console_errors
