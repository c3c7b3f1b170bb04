"""The micro ladder: its rungs in order, their hint folders, and the reference diffs between them.

Each rung is a self-contained `records/micro/<NN_name>/train.py`. Transition k -> k+1
keeps its hints and the generated reference diff in `records/micro/hints/<NN>_to_<MM>/`.
Regenerate the diffs after editing a rung: `python -m records.ladder`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

MICRO_DIR = Path(__file__).resolve().parent / "micro"
HINT_FILES = {"pseudo": "pseudocode.md", "text": "text.md", "paper": "paper.md"}
DIFF_FILE = "reference.diff"


@dataclass(frozen=True)
class Rung:
    number: int  # position on the ladder, from 1
    slug: str  # folder under records/micro/
    title: str
    mirrors: int  # the modded-nanogpt record whose idea this rung re-creates

    @property
    def script(self) -> Path:
        return MICRO_DIR / self.slug / "train.py"


RUNGS: tuple[Rung, ...] = (
    Rung(1, "01_llmc_baseline", "llm.c-style GPT-2 baseline, AdamW tuned for this scale", 1),
    Rung(2, "02_rotary_rmsnorm", "rotary embeddings, RMSNorm, tuned AdamW, trapezoidal schedule", 2),
    Rung(3, "03_muon", "Muon optimizer for the hidden matrices", 3),
    Rung(4, "04_relu2_qknorm", "ReLU^2, QK-norm, zero-initialized projections", 5),
    Rung(5, "05_untied_head", "untied embedding and head", 8),
    Rung(6, "06_value_residual", "value residual, embedding shortcut, logit softcap, momentum warmup", 9),
    Rung(7, "07_unet_skips", "U-net skip connections and higher learning rates", 11),
    Rung(8, "08_batch_size", "a smaller batch", 21),
    Rung(9, "09_drop_attention", "the last block drops its attention", 17),
)


def rung(number: int) -> Rung:
    return RUNGS[number - 1]


def hints_dir(k: int) -> Path:
    """The folder of transition k -> k+1."""
    return MICRO_DIR / "hints" / f"{k:02d}_to_{k + 1:02d}"


def reference_diff(k: int) -> str:
    """The unified diff from rung k's script to rung k+1's."""
    old, new = rung(k), rung(k + 1)
    lines = difflib.unified_diff(
        old.script.read_text().splitlines(keepends=True),
        new.script.read_text().splitlines(keepends=True),
        fromfile=f"{old.slug}/train.py",
        tofile=f"{new.slug}/train.py",
    )
    return "".join(lines)


def write_reference_diffs() -> list[Path]:
    written = []
    for k in range(1, len(RUNGS)):
        path = hints_dir(k) / DIFF_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(reference_diff(k))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_reference_diffs():
        print(written_path)
