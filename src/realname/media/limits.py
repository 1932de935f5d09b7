"""The input limits on one uploaded image and one uploaded clip: the one place they are defined.

:class:`realname.settings.Settings` takes its defaults from :data:`DEFAULT_IMAGE_LIMITS` and
:data:`DEFAULT_VIDEO_LIMITS`. Pure data: importing it loads neither OpenCV nor NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_IMAGE_LIMITS", "DEFAULT_VIDEO_LIMITS", "ImageLimits", "VideoLimits"]

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Limits on one uploaded image.

    ``max_aspect`` (long side / short side) is an input limit, not a tuned threshold: what
    cameras, chip readers and phones produce is 102x126 (a chip portrait, 1.24), 4:3, 3:2,
    16:9 and 20:9 (2.22, the tallest phone screens; 21:9 is 2.33). Every image in the
    evaluation data lies at 1.66 or under. 3.0 leaves room for a crop and refuses a thin strip
    (20,000 x 40 is 500), which would otherwise be enlarged for detection into a huge image.
    """

    max_bytes: int = 20 * _MIB
    max_pixels: int = 40_000_000
    min_side: int = 16
    max_aspect: float = 3.0


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """Limits on one uploaded clip.

    ``max_aspect`` and ``max_pixels`` are input limits, not tuned thresholds: phone and webcam
    cameras record 4:3, 16:9 or 9:16 (1.78), and a 20:9 phone's screen recording is 2.22; the
    widest clip in the evaluation data is 854x466 (1.83), the largest 720x1280. 1080p's pixel
    count (1920x1080) bounds the decoding and downscaling work of one frame: a 1080x4320 strip,
    whose short side passes, is 4.7 megapixels a frame, and its 160 px short side after the
    analysis downscale made every frame's face search an enlarged 1200x300 detection.

    ``max_missing_frames`` and ``max_missing_share`` bound how far an indexed container (MP4,
    MOV, AVI) may fall short of the frame count its index announces before it is called
    truncated: an input-integrity limit (a few frames are lost at a cut or an edit list), not a
    tuned threshold.

    ``min_fps`` (frames actually decoded / duration) is the liveness policy's frame-rate floor
    (``liveness.min_fps`` in ``realname/data/policy.json``, with its measurement: under 8 fps,
    BPCER 9.2% and a screen replay passing; see its provenance): the service replaces this
    default with the loaded policy's value, and a test holds the two equal.
    """

    max_bytes: int = 20 * _MIB
    min_duration_s: float = 1.0
    max_duration_s: float = 15.0
    min_fps: float = 8.0  # = policy liveness.min_fps (see above)
    min_short_side: int = 240  # 240p
    max_short_side: int = 1080  # 1080p
    max_frames: int = 2000  # hard cap on frames read
    max_aspect: float = 2.5  # long side / short side: 20:9 phones are 2.22, 21:9 is 2.33
    max_pixels: int = 1920 * 1080  # per frame: 1080p
    max_missing_frames: int = 2  # an indexed stream may end this many frames short...
    max_missing_share: float = 0.05  # ...or this share of its indexed frames, whichever is more


DEFAULT_IMAGE_LIMITS = ImageLimits()
DEFAULT_VIDEO_LIMITS = VideoLimits()
