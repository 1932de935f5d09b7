"""Time one 5 s, 640x480, 30 fps clip through ``verify_identity`` end to end (decode included).

    .venv/bin/python benchmarks/verify_clip.py [--video CLIP] [--portrait IMAGE] [--challenge a,b]

Without --video, a synthetic clip is made from scikit-image's astronaut photo (moved and
scaled a little every frame) and encoded as MP4 in memory; with --video, the first 5 s of that
clip are re-encoded at 640x480, 30 fps. Prints the wall time of each run and the peak resident
memory of the process (models included), on one thread per library as in the service workers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from realname.engines import load_engines
from realname.liveness.challenge import parse_challenge
from realname.media.video import decode_clip
from realname.policy import load_policy
from realname.settings import Settings
from realname.verify import verify_identity


def synthetic_frames() -> list[np.ndarray]:
    from skimage import data

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    frames: list[np.ndarray] = []
    for i in range(150):
        angle = 4 * np.sin(i / 15)
        scale = 1.0 + 0.05 * np.sin(i / 20)
        matrix = cv2.getRotationMatrix2D((256, 200), angle, scale)
        matrix[0, 2] += 10 * np.sin(i / 10)
        moved = cv2.warpAffine(photo, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)
        frames.append(cv2.resize(moved, (640, 480)))
    return frames


def video_frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    while len(frames) < 150:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, (640, 480)))
    return frames


def encode_mp4(frames: list[np.ndarray]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, (640, 480))
        for frame in frames:
            writer.write(frame)
        writer.release()
        return path.read_bytes()


def make_clip(video: Path | None) -> tuple[bytes, np.ndarray]:
    frames = video_frames(video) if video else synthetic_frames()
    return encode_mp4(frames), frames[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--video", type=Path)
    parser.add_argument("--portrait", type=Path)
    parser.add_argument("--challenge", default="")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--landmarker", default=None, help="landmark engine (default: REALNAME_LANDMARKER)"
    )
    args = parser.parse_args()
    # The clip is made in a child process, so that its raw frames do not count in this
    # process's peak memory: what is measured is what a service worker holds.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        data, first = pool.apply(make_clip, (args.video,))
    portrait = (
        cv2.imread(str(args.portrait))
        if args.portrait
        else cv2.resize(first[60:400, 180:460], (102, 126), interpolation=cv2.INTER_AREA)
    )
    if portrait is None:
        raise SystemExit(f"cannot read the portrait {args.portrait}")
    settings = Settings()
    engines = load_engines(
        settings.face_detector, settings.face_embedder, args.landmarker or settings.landmarker
    )
    policy = load_policy()
    assert policy.liveness is not None
    challenge = parse_challenge(args.challenge)
    walls = []
    stages: dict[str, list[float]] = {}
    summary = ""
    for _ in range(args.runs):
        start = time.perf_counter()
        clip = decode_clip(
            data,
            sample_fps=policy.liveness.sample_fps,
            analysis_long_side=policy.liveness.analysis_long_side,
        )
        decoded = time.perf_counter()
        result = verify_identity(
            np.asarray(portrait, dtype=np.uint8), clip, challenge, engines, policy
        )
        walls.append(time.perf_counter() - start)
        live = result.liveness.timings_ms
        for name, ms in (
            ("decode", (decoded - start) * 1000),
            ("liveness: signals (face, landmarks, pose per frame)", live.get("signals", 0.0)),
            ("liveness: checks (passive, same person)", live.get("checks", 0.0)),
            ("match", result.timings_ms.get("match", 0.0)),
        ):
            stages.setdefault(name, []).append(ms)
        summary = (
            f"{clip.decoded_frames} decoded, {len(clip.frames)} analysed; "
            f"passed={result.passed} reasons={list(result.reasons)}; timings {result.timings_ms}"
        )
        del clip, result  # a worker holds one clip at a time
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(  # noqa: T201
        f"clip 640x480 30 fps ({len(data) / 1e6:.2f} MB), {summary}\n"
        f"wall per run (s): {[round(w, 3) for w in walls]}; "
        f"median {statistics.median(walls):.3f} s; peak RSS {peak_mb:.0f} MB"
    )
    for name, values in stages.items():  # where the time goes, median of the runs
        print(f"  {name}: {statistics.median(values):.0f} ms")  # noqa: T201


if __name__ == "__main__":
    main()
