"""Synthetic signal tracks for testing the action and challenge logic without video."""

from __future__ import annotations

import numpy as np

from realname.engines.base import Face
from realname.liveness.signals import FrameSignals, SignalTrack

FPS = 15.0


def track(
    seconds: float = 6.0,
    *,
    ear: float = 0.30,
    blinks: tuple[float, ...] = (),
    blink_depth: float = 0.5,
    blink_s: float = 0.2,
    turns: tuple[tuple[float, float, float], ...] = (),  # (start, end, degrees)
    nods: tuple[tuple[float, float, float], ...] = (),
    mouth: tuple[tuple[float, float, float], ...] = (),
    noise: float = 0.0,
    seed: int = 0,
) -> SignalTrack:
    rng = np.random.default_rng(seed)
    times = np.arange(0, seconds, 1 / FPS)
    ears = np.full(len(times), ear)
    yaw = np.zeros(len(times))
    pitch = np.zeros(len(times))
    mar = np.full(len(times), 0.02)
    for b in blinks:
        ears[(times >= b) & (times < b + blink_s)] = ear * (1 - blink_depth)
    for start, end, deg in turns:
        inside = (times >= start) & (times <= end)
        # a smooth bump peaking mid-way
        yaw[inside] += deg * np.sin(np.pi * (times[inside] - start) / (end - start))
    for start, end, deg in nods:
        inside = (times >= start) & (times <= end)
        pitch[inside] += deg * np.sin(np.pi * (times[inside] - start) / (end - start))
    for start, end, value in mouth:
        mar[(times >= start) & (times <= end)] = value
    if noise:
        ears = ears + rng.normal(0, noise * ear, len(times))
        yaw = yaw + rng.normal(0, noise * 10, len(times))
    face = Face(
        (100, 100, 200, 200), ((150, 180), (250, 180), (200, 230), (160, 270), (240, 270)), 0.9
    )
    frames = tuple(
        FrameSignals(
            index=i,
            t=float(t),
            face_found=True,
            face_count=1,
            detected=True,
            face=face,
            landmarks=None,
            ear_left=float(ears[i]),
            ear_right=float(ears[i]),
            mar=float(mar[i]),
            yaw=float(yaw[i]),
            pitch=float(pitch[i]),
            roll=0.0,
            inter_eye_px=100.0,
            sharpness=300.0,
            brightness=120.0,
        )
        for i, t in enumerate(times)
    )
    return SignalTrack(frames=frames, image_size=(640, 480), detections=len(frames))
