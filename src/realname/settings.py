"""The core's settings: environment variables prefixed ``REALNAME_`` (also read from ``.env``).

Engines, the policy file, the operating point and the input limits: what the library and the
CLI's one-shot commands need. The registration service extends it with its own fields
(:class:`realname.service.settings.ServiceSettings`, same prefix), so both read one environment.
The input limits' defaults come from :mod:`realname.media.limits`, where they are defined once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from realname.media.limits import (
    DEFAULT_IMAGE_LIMITS,
    DEFAULT_VIDEO_LIMITS,
    ImageLimits,
    VideoLimits,
)

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REALNAME_", env_file=".env", extra="ignore")

    face_detector: str = Field("yunet", description="Face detector engine")
    face_embedder: str = Field("sface", description="Face embedding engine: sface or dlib-resnet")
    landmarker: str = Field(
        "mesh", description="Dense landmark engine (liveness): mesh, or dlib68 from realname[dlib]"
    )
    card_reader: str = Field(
        "rapidocr", description="ID card reader (photographed cards): rapidocr, or none (off)"
    )
    policy_file: Path | None = Field(None, description="Policy JSON; the packaged one if unset")
    match_fmr: str | None = Field(
        None, description="Operating point (1e-3, 1e-4, 1e-5); policy default if unset"
    )
    max_image_bytes: int = Field(
        DEFAULT_IMAGE_LIMITS.max_bytes, description="Largest accepted image file"
    )
    max_image_pixels: int = Field(
        DEFAULT_IMAGE_LIMITS.max_pixels, description="Largest accepted image (pixels)"
    )
    max_video_bytes: int = Field(
        DEFAULT_VIDEO_LIMITS.max_bytes, description="Largest accepted clip"
    )
    max_video_seconds: float = Field(
        DEFAULT_VIDEO_LIMITS.max_duration_s, description="Longest accepted clip (s)"
    )

    def image_limits(self) -> ImageLimits:
        """The limits on one image, from these settings."""
        return dataclasses.replace(
            DEFAULT_IMAGE_LIMITS, max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels
        )

    def video_limits(self) -> VideoLimits:
        """The limits on one clip, from these settings."""
        return dataclasses.replace(
            DEFAULT_VIDEO_LIMITS,
            max_bytes=self.max_video_bytes,
            max_duration_s=self.max_video_seconds,
        )
