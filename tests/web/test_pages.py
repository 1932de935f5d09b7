"""The pages without a browser: served by the app with the right types and headers, the two
dictionaries complete and alike, every reason and error code of docs/errors.md explained in
both languages, and nothing loaded from outside the app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from realname.service.api.web import PAGES, STATIC_DIR
from realname.service.app import create_app
from tests.conftest import REPO
from tests.service.conftest import make_settings
from tests.service.fakes import FakeVerifier

ERRORS_DOC = REPO / "docs" / "errors.md"
LANGUAGES = ("zh-CN", "en")
TEXT_SUFFIXES = {".html", ".js", ".css", ".json", ".svg"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(
        make_settings(f"sqlite:///{tmp_path / 'realname.db'}"),
        verifier=FakeVerifier(),
        periodic_tasks=False,
    )
    with TestClient(app) as c:
        yield c


def dictionary(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def static_files() -> list[Path]:
    return sorted(p for p in STATIC_DIR.rglob("*") if p.is_file())


def doc_table_codes(heading: str) -> list[str]:
    """The backticked codes in the first column of the table under ``heading``."""
    text = ERRORS_DOC.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    codes: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            codes += re.findall(r"`([A-Z_<>a-z]+)`", line.split("|")[1])
    return codes


def test_the_root_sends_the_browser_to_the_sign_in_page(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/web/"
    page = client.get("/web/")
    assert page.status_code == 200
    assert 'id="signin"' in page.text


@pytest.mark.parametrize("page", PAGES)
def test_each_page_is_served_as_html_with_a_strict_content_security_policy(
    client: TestClient, page: str
) -> None:
    r = client.get(f"/web/{page}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    policy = r.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_every_static_asset_is_served_with_its_content_type(client: TestClient) -> None:
    expected = {
        ".html": "text/html; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".json": "application/json",
        ".svg": "image/svg+xml",
    }
    files = static_files()
    assert {p.suffix for p in files} <= set(expected)
    for path in files:
        url = "/web/" + path.relative_to(STATIC_DIR).as_posix()
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["content-type"] == expected[path.suffix], url
        assert r.content == path.read_bytes()


def test_a_missing_asset_is_a_problem_json_404(client: TestClient) -> None:
    r = client.get("/web/js/nothing.js")
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"


def test_the_pages_are_in_the_package_that_hatchling_builds() -> None:
    # The wheel takes every file under src/realname (pyproject: packages = ["src/realname"]).
    assert STATIC_DIR.is_relative_to(REPO / "src" / "realname")
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'packages = ["src/realname"]' in pyproject
    for page in PAGES:
        assert (STATIC_DIR / page).is_file()


def test_both_dictionaries_have_exactly_the_same_keys_and_placeholders() -> None:
    zh, en = dictionary("zh-CN"), dictionary("en")
    assert sorted(zh) == sorted(en)
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        assert set(re.findall(r"\{(\w+)\}", zh[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key


def test_every_key_the_pages_use_is_translated() -> None:
    zh = dictionary("zh-CN")
    used: set[str] = set()
    for path in static_files():
        if path.suffix in {".html", ".js"}:
            text = path.read_text(encoding="utf-8")
            used |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', text))
            used |= set(re.findall(r'\bt\(\s*"([^"]+)"', text))
    assert used, "no translation keys found"
    assert sorted(used - set(zh)) == []


@pytest.mark.parametrize(
    "heading",
    [
        "## Reason codes in results (not errors)",
        "## Liveness reason codes (results, not errors)",
        "## ID card rule reasons (results, not errors)",
    ],
)
def test_every_reason_code_of_the_error_catalogue_has_a_sentence_in_both_languages(
    heading: str,
) -> None:
    codes = doc_table_codes(heading)
    assert len(codes) >= 5, codes
    for lang in LANGUAGES:
        words = dictionary(lang)
        for code in codes:
            if "<reason>" in code:  # PROBE_<reason>, REFERENCE_<reason>: a prefix and the reason
                key = "reason.prefix." + code.split("_<")[0].lower()
            else:
                key = f"reason.{code}"
            assert key in words, (lang, code)


def test_every_challenge_step_reason_of_the_catalogue_has_a_sentence_in_both_languages() -> None:
    # A failed challenge says, per step, which was not seen and why (issue 13, item 5).
    codes = doc_table_codes("## Challenge step reasons")
    assert "STEP_NOT_SEEN" in codes and "STEP_TOO_SMALL" in codes, codes
    for lang in LANGUAGES:
        words = dictionary(lang)
        assert [c for c in codes if f"challenge.{c}" not in words] == [], lang
        for code in codes:
            assert {"n", "action"} <= set(re.findall(r"\{(\w+)\}", words[f"challenge.{code}"]))


def test_the_supervisor_has_own_sentences_for_the_reasons_of_a_review() -> None:
    # Written for a decision, not the clerk's "capture again" (issue 13, item 7).
    for lang in LANGUAGES:
        words = dictionary(lang)
        for code in ("MATCH_BORDERLINE", "FACE_MISMATCH"):
            assert words[f"review.reason.{code}"] != words[f"reason.{code}"], (lang, code)


def test_every_error_code_of_the_catalogue_has_a_message_in_both_languages() -> None:
    codes = doc_table_codes("| code | HTTP | class | when |")
    assert "SESSION_EXPIRED" in codes and "ID_LOCKED" in codes
    for lang in LANGUAGES:
        words = dictionary(lang)
        assert [c for c in codes if f"error.{c}" not in words] == [], lang


def test_every_challenge_action_has_a_prompt_and_an_icon() -> None:
    from realname.policy import ACTIONS

    for action in ACTIONS:
        assert (STATIC_DIR / "img" / f"{action}.svg").is_file()
        for lang in LANGUAGES:
            assert f"action.{action}" in dictionary(lang)


def test_no_page_loads_anything_from_outside_the_app() -> None:
    svg_namespace = "http://www.w3.org/2000/svg"  # a name, not a request
    for path in static_files():
        if path.suffix not in TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8").replace(svg_namespace, "")
        assert re.findall(r"https?://", text) == [], path.name
        for ref in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text):
            assert not ref.startswith("//") and ":" not in ref.split("/")[0], (path.name, ref)
        assert "@import" not in text and "url(http" not in text
