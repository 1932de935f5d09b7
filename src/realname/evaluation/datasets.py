"""The verification data sets, read from a folder laid out as ``../shared/data``.

==================== ==================================================================
``lfw``              LFW View-2 pairs.txt (folds present): genuine / impostor pairs
``lfw_chip``         the same pairs, first image reduced to a 102x126 chip portrait
``lfw_all_impostors`` every same-identity pair (genuine) and every cross-identity pair
                     (impostor) among all LFW images present: FMR down to 1e-6
``nuaa``             NUAA printed ID-style photo vs live capture (East-Asian)
``asian_celebrities`` Chinese celebrities in the wild (East-Asian)
==================== ==================================================================

Every image is listed once in a :class:`ImageTable`, so each embedding is computed once.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "CHIP_SIZE",
    "DATASET_NAMES",
    "ImageKey",
    "ImageTable",
    "PairSet",
    "centre_crop",
    "discover",
    "to_chip",
]

CHIP_SIZE = (102, 126)  # width, height of the chip portrait of a Chinese ID card
DATASET_NAMES = ("lfw", "lfw_chip", "lfw_all_impostors", "nuaa", "asian_celebrities")
Variant = Literal["as_is", "chip"]
Pairs = npt.NDArray[np.int64]


def centre_crop(image: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    """The largest centred crop of ``image`` at the ratio ``width:height`` (a view)."""
    rows, cols = image.shape[:2]
    crop_w = min(cols, round(rows * width / height))
    crop_h = min(rows, round(crop_w * height / width))
    x0, y0 = (cols - crop_w) // 2, (rows - crop_h) // 2
    return image[y0 : y0 + crop_h, x0 : x0 + crop_w]


def to_chip(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Centre-crop to the chip's aspect ratio, then downscale to 102x126 (area interpolation)."""
    crop = centre_crop(image, *CHIP_SIZE)
    return np.asarray(cv2.resize(crop, CHIP_SIZE, interpolation=cv2.INTER_AREA), dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class ImageKey:
    path: Path
    variant: Variant = "as_is"


@dataclass(slots=True)
class ImageTable:
    keys: list[ImageKey] = field(default_factory=list)
    _index: dict[ImageKey, int] = field(default_factory=dict)

    def add(self, path: Path, variant: Variant = "as_is") -> int:
        key = ImageKey(path, variant)
        if key not in self._index:
            self._index[key] = len(self.keys)
            self.keys.append(key)
        return self._index[key]


@dataclass(frozen=True, slots=True)
class PairSet:
    """Pairs of image-table indices. ``all_pairs`` sets list members and identity labels instead:
    every same-label pair is genuine and every other pair an impostor."""

    name: str
    description: str
    genuine: Pairs
    impostor: Pairs
    members: npt.NDArray[np.int64] | None = None
    labels: npt.NDArray[np.int64] | None = None

    @property
    def all_pairs(self) -> bool:
        return self.members is not None


def _pairs(rows: list[tuple[int, int]]) -> Pairs:
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def _lfw(root: Path, table: ImageTable) -> list[PairSet]:
    pairs_file = root / "pairs.txt"
    images = root / "images"

    def path(name: str, number: str) -> Path:
        return images / name / f"{name}_{int(number):04d}.jpg"

    genuine_paths: list[tuple[Path, Path]] = []
    impostor_paths: list[tuple[Path, Path]] = []
    for line in pairs_file.read_text().splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) == 3:
            genuine_paths.append((path(parts[0], parts[1]), path(parts[0], parts[2])))
        elif len(parts) == 4:
            impostor_paths.append((path(parts[0], parts[1]), path(parts[2], parts[3])))

    def indexed(rows: list[tuple[Path, Path]], first: Variant) -> Pairs:
        return _pairs([(table.add(a, first), table.add(b)) for a, b in rows])

    sets = [
        PairSet(
            "lfw",
            "LFW View-2 pairs",
            indexed(genuine_paths, "as_is"),
            indexed(impostor_paths, "as_is"),
        ),
        PairSet(
            "lfw_chip",
            "LFW pairs, first image as a 102x126 chip portrait (reference)",
            indexed(genuine_paths, "chip"),
            indexed(impostor_paths, "chip"),
        ),
    ]
    all_images = sorted(p for p in images.glob("*/*.jpg"))
    if all_images:
        members = np.asarray([table.add(p) for p in all_images], dtype=np.int64)
        names = [p.parent.name for p in all_images]
        _, labels = np.unique(np.asarray(names), return_inverse=True)
        sets.append(
            PairSet(
                "lfw_all_impostors",
                "every pair among the LFW images: same identity genuine, other identity impostor",
                _pairs([]),
                _pairs([]),
                members=members,
                labels=labels.astype(np.int64),
            )
        )
    return sets


def _csv_pairs(
    root: Path, filename: str, name: str, description: str, table: ImageTable
) -> PairSet:
    genuine: list[tuple[int, int]] = []
    impostor: list[tuple[int, int]] = []
    with (root / filename).open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            if len(row) < 3:
                continue
            pair = (table.add(root / row[0]), table.add(root / row[1]))
            (genuine if row[2].strip() == "1" else impostor).append(pair)
    return PairSet(name, description, _pairs(genuine), _pairs(impostor))


def discover(
    data_dir: Path, names: tuple[str, ...] = DATASET_NAMES
) -> tuple[ImageTable, list[PairSet]]:
    """Every known data set found under ``data_dir`` (those absent are skipped)."""
    table = ImageTable()
    sets: list[PairSet] = []
    if (data_dir / "lfw" / "pairs.txt").is_file():
        sets += _lfw(data_dir / "lfw", table)
    nuaa = data_dir / "nuaa_imposter_raw"
    if (nuaa / "pairs_photo_vs_live.csv").is_file():
        sets.append(
            _csv_pairs(
                nuaa,
                "pairs_photo_vs_live.csv",
                "nuaa",
                "NUAA printed ID-style photo vs live",
                table,
            )
        )
    celebs = data_dir / "asian_celebrities_cn"
    if (celebs / "pairs.csv").is_file():
        sets.append(
            _csv_pairs(
                celebs, "pairs.csv", "asian_celebrities", "Chinese celebrities, in the wild", table
            )
        )
    wanted = [s for s in sets if s.name in names]
    return table, wanted
