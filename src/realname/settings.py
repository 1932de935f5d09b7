"""One settings object: environment variables prefixed ``REALNAME_`` (also read from ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REALNAME_", env_file=".env", extra="ignore")

    face_detector: str = Field("yunet", description="Face detector engine")
    face_embedder: str = Field("sface", description="Face embedding engine: sface or dlib-resnet")
    landmarker: str = Field("dlib68", description="Dense landmark engine (liveness)")
    policy_file: Path | None = Field(None, description="Policy JSON; the packaged one if unset")
    match_fmr: str | None = Field(
        None, description="Operating point (1e-3, 1e-4, 1e-5); policy default if unset"
    )
    max_image_bytes: int = Field(20 * 1024 * 1024, description="Largest accepted image file")
    max_image_pixels: int = Field(40_000_000, description="Largest accepted image (pixels)")
    max_video_bytes: int = Field(20 * 1024 * 1024, description="Largest accepted clip")
    max_video_seconds: float = Field(15.0, description="Longest accepted clip (s)")
