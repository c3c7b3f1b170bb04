"""The paper's published numbers (arXiv 2506.22419), in this project's names, to show beside ours.

Mean FSR over 3 models x 5 scaffolds pooled, on the real NanoGPT records (8xH100): per hint
regime and per scaffold. They are the paper's, never a measurement of this tool: every view
that shows them labels them so.
"""

from __future__ import annotations

SOURCE = "arXiv 2506.22419"

MEAN_FSR: dict[str, dict[str, float]] = {
    "hints": {"none": 0.124, "pseudo": 0.247, "text": 0.142, "paper": 0.158, "pseudo+text": 0.255, "all": 0.301},
    "scaffold": {"flat": 0.197, "tree": 0.189, "forest": 0.214, "aide": 0.188, "multi-aide": 0.232},
}

# How the paper names our hint regimes (L1 pseudocode, L2 text description, L3 mini-paper).
HINT_LEVELS = {"none": "none", "pseudo": "L1", "text": "L2", "paper": "L3", "pseudo+text": "L1+L2",
               "all": "L1+L2+L3"}


def label(by: str, value: str) -> str:
    """A group's name on a chart: hint regimes carry the paper's level names too."""
    level = HINT_LEVELS.get(value) if by == "hints" else None
    return f"{value} ({level})" if level and level != value else value
