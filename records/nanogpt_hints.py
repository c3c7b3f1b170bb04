"""Read a local facebookresearch/llm-speedrunner checkout: per-record hints and train_gpt2.py templates.

Hints for task R (record R -> R+1) live in
`data/nanogpt_speedrun_knowledge_in_levels/record_R/`: level_1_pseudo.txt (L1),
level_2_description.txt (L2), level_3_paper.txt (L3) and level_0_diff.txt (the
reference diff). Record R's start code template is
`workspace_templates/nanogpt_speedrun/record_R/train_gpt2.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from speedrun_tui.errors import UserError

LEVELS_DIR = Path("data/nanogpt_speedrun_knowledge_in_levels")
TEMPLATES_DIR = Path("workspace_templates/nanogpt_speedrun")

# Our hint level -> the file names llm-speedrunner has used for it, preferred first.
LEVEL_FILES: dict[str, tuple[str, ...]] = {
    "pseudo": ("level_1_pseudo.txt",),
    "text": ("level_2_description.txt",),
    "paper": ("level_3_paper.txt", "level_5_paper.txt"),
}
DIFF_FILE = "level_0_diff.txt"


@dataclass(frozen=True)
class RecordHints:
    record: int
    hint_files: dict[str, Path] = field(default_factory=dict)  # level -> file
    diff_file: Path | None = None
    template: Path | None = None  # the record's train_gpt2.py


class HintsTree:
    """A checkout of llm-speedrunner (or its knowledge-in-levels folder alone)."""

    def __init__(self, path: Path):
        path = Path(path).expanduser()
        if (path / LEVELS_DIR).is_dir():
            self.root, self.levels = path, path / LEVELS_DIR
        elif any(path.glob("record_*")):
            self.root, self.levels = None, path
        else:
            raise UserError(f"{path}: no {LEVELS_DIR}/record_N folders here; give a llm-speedrunner checkout")

    def for_record(self, record: int) -> RecordHints:
        folder = self.levels / f"record_{record}"
        hint_files = {}
        for level, names in LEVEL_FILES.items():
            found = next((folder / n for n in names if (folder / n).is_file()), None)
            if found is not None:
                hint_files[level] = found
        diff = folder / DIFF_FILE
        template = self.root / TEMPLATES_DIR / f"record_{record}" / "train_gpt2.py" if self.root else None
        return RecordHints(
            record=record,
            hint_files=hint_files,
            diff_file=diff if diff.is_file() else None,
            template=template if template is not None and template.is_file() else None,
        )
