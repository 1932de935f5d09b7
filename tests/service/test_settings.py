"""The service's settings: the core's plus its own, one ``REALNAME_`` environment, secrets that
no repr, log line or dump shows, and input limits defined once (in ``realname.media.limits``)."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from realname.media.limits import DEFAULT_IMAGE_LIMITS, DEFAULT_VIDEO_LIMITS
from realname.service.settings import ServiceSettings
from realname.settings import Settings
from tests.service.conftest import key_settings

SECRETS = ("database_url", "data_keys", "index_key", "audit_signing_key")
CORE = {
    "face_detector",
    "face_embedder",
    "landmarker",
    "card_reader",
    "policy_file",
    "match_fmr",
    "max_image_bytes",
    "max_image_pixels",
    "max_video_bytes",
    "max_video_seconds",
}


def _settings() -> ServiceSettings:
    return ServiceSettings(
        _env_file=None, database_url="postgresql+psycopg://u:hunter2-pw@db/x", **key_settings()
    )


def test_the_core_keeps_only_engines_card_reader_policy_operating_point_and_input_limits() -> None:
    assert set(Settings.model_fields) == CORE
    assert set(ServiceSettings.model_fields) > CORE


def test_every_secret_is_a_secret_str_and_shows_in_no_repr_dump_or_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings()
    values = [getattr(settings, name).get_secret_value() for name in SECRETS]
    assert all(isinstance(getattr(settings, name), SecretStr) for name in SECRETS)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("realname.test").info("settings: %s %r", settings, settings)
    shown = [repr(settings), str(settings), settings.model_dump_json(), caplog.text]
    for text in shown:
        for value in values:
            assert value not in text
    assert "hunter2-pw" not in "".join(shown)


def test_the_service_fields_are_read_from_the_realname_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REALNAME_SESSION_TTL_S", "240")
    monkeypatch.setenv("REALNAME_INDEX_KEY", "c2VjcmV0")
    monkeypatch.setenv("REALNAME_FACE_EMBEDDER", "dlib-resnet")
    settings = ServiceSettings(_env_file=None)
    assert settings.session_ttl_s == 240 and settings.face_embedder == "dlib-resnet"
    assert settings.index_key is not None and settings.index_key.get_secret_value() == "c2VjcmV0"


def test_the_input_limits_default_to_the_media_limits() -> None:
    settings = Settings(_env_file=None)
    assert settings.image_limits() == DEFAULT_IMAGE_LIMITS
    assert settings.video_limits() == DEFAULT_VIDEO_LIMITS
    assert (settings.max_image_bytes, settings.max_image_pixels) == (20 * 1024 * 1024, 40_000_000)
    assert (settings.max_video_bytes, settings.max_video_seconds) == (20 * 1024 * 1024, 15.0)


def test_limits_from_settings_change_only_what_the_settings_name() -> None:
    settings = Settings(_env_file=None, max_image_bytes=1000, max_video_seconds=9.0)
    assert settings.image_limits().max_bytes == 1000
    assert settings.image_limits().max_aspect == DEFAULT_IMAGE_LIMITS.max_aspect
    assert settings.video_limits().max_duration_s == 9.0
    assert settings.video_limits().max_pixels == DEFAULT_VIDEO_LIMITS.max_pixels
