"""The sweep file: a TOML grid of sessions and the settings its cells share.

    name = "paper-grid"
    tasks = ["nanogpt/1-5", "nanogpt/7-20"]      # ids, record ranges, globs (micro/*)
    models = ["anthropic/claude-sonnet-4-5"]
    scaffolds = ["flat", "aide"]                # default ["flat"]
    hints = ["none", "all"]                     # default ["none"]
    seeds = [0, 1]                              # or a count: seeds = 3
    max_nodes = 20                              # and/or time_budget = "2h", per session
    [slurm]                                     # with backend = "slurm": runner/slurm.py's options

Every cell is task x model x scaffold x hints x mode x seed; relative paths (db, scripted:
models) are read from the file's folder.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from agent.commands import HINT_NAMES, SANDBOX_MODES, SCAFFOLD_NAMES
from agent.config import SessionConfig
from records.task import Task
from records.task_patterns import expand
from sessions.elapsed import parse_duration
from sessions.sweeps import Cell
from speedrun_tui.errors import UserError

GRID_KEYS = ("tasks", "models", "scaffolds", "hints", "modes", "seeds")
SETTING_KEYS = ("name", "db", "max_nodes", "time_budget", "parallel", "verify_repeats", "time_target", "sandbox",
                "backend", "api_base", "timeout", "llm_timeout", "max_jobs", "slurm_config", "slurm")
SWEEP_MODES = ("auto",)  # a sweep runs its cells with nobody at the keyboard


@dataclass(frozen=True)
class SweepFile:
    name: str
    path: Path
    tasks: tuple[Task, ...]
    left_out: tuple[Task, ...]  # unavailable tasks a range or glob matched
    cells: tuple[Cell, ...]
    base: SessionConfig  # what every cell's session shares; the cell fills in the rest
    db: Path | None  # where the sessions go (None: the CLI's --db or the default)
    max_jobs: int | None  # Slurm jobs in flight at once, over the whole sweep

    def session_config(self, cell: Cell) -> SessionConfig:
        return replace(self.base, task_id=cell.task, model=cell.model, scaffold=cell.scaffold, hints=cell.hints,
                       mode=cell.mode, seed=cell.seed)

    def settings(self) -> dict:
        """What the database keeps of the file besides the grid (the sweep screen shows it)."""
        base = self.base
        return {"max_nodes": base.max_nodes, "time_budget_s": base.time_budget_s, "parallel": base.parallel,
                "backend": base.backend, "verify_repeats": base.verify_repeats, "max_jobs": self.max_jobs}


def load_sweep_file(path: Path) -> SweepFile:
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise UserError(f"sweep file {path}: {err}") from None
    unknown = sorted(set(data) - set(GRID_KEYS) - set(SETTING_KEYS))
    if unknown:
        raise UserError(f"sweep file {path}: unknown key(s) {', '.join(unknown)}; known: "
                        f"{', '.join(GRID_KEYS + SETTING_KEYS)}")
    fields = _Fields(path, data)
    name = fields.text("name", path.stem)
    tasks, left_out = expand(fields.strings("tasks"))
    grid = (
        [t.id for t in tasks],
        [_model(m, path.parent) for m in fields.strings("models")],
        fields.strings("scaffolds", ["flat"], choices=SCAFFOLD_NAMES),
        fields.strings("hints", ["none"], choices=HINT_NAMES),
        _modes(fields),
        _seeds(fields),
    )
    return SweepFile(name=name, path=path, tasks=tuple(tasks), left_out=tuple(left_out),
                     cells=tuple(Cell(*values) for values in itertools.product(*grid)), base=_base(fields, name),
                     db=fields.path("db"), max_jobs=fields.number("max_jobs", int, None, minimum=1))


def _base(fields: _Fields, name: str) -> SessionConfig:
    budget = fields.text("time_budget", None)
    backend = fields.text("backend", "local", choices=("local", "slurm"))
    slurm_config = fields.path("slurm_config")
    if "slurm" in fields.data:
        if slurm_config is not None:
            raise UserError(f"sweep file {fields.file}: give either a [slurm] table or slurm_config, not both")
        slurm_config = fields.file  # runner/slurm.py reads the file's [slurm] table
    return SessionConfig(
        task_id="", max_nodes=fields.number("max_nodes", int, None, minimum=1),
        time_budget_s=None if budget is None else parse_duration(budget, option=f"{fields.file}: time_budget"),
        parallel=fields.number("parallel", int, 1, minimum=1),
        verify_repeats=fields.number("verify_repeats", int, None, minimum=0),
        time_target=fields.flag("time_target", True), sandbox=fields.text("sandbox", "auto", choices=SANDBOX_MODES),
        backend=backend, slurm_config=None if slurm_config is None else str(slurm_config),
        api_base=fields.text("api_base", None), timeout_s=fields.number("timeout", float, None, minimum=1),
        llm_timeout_s=fields.number("llm_timeout", float, 600.0, minimum=1), sweep=name)


def _model(model: str, folder: Path) -> str:
    """A `scripted:` file is read from the sweep file's folder unless its path is absolute."""
    if model.startswith("scripted:"):
        return f"scripted:{(folder / Path(model.split(':', 1)[1]).expanduser()).resolve()}"
    return model


def _modes(fields: _Fields) -> list[str]:
    modes = fields.strings("modes", ["auto"])
    if set(modes) - set(SWEEP_MODES):
        raise UserError(f"sweep file {fields.file}: modes: a sweep runs its cells unattended, so only \"auto\"; "
                        "co-pilot and human sessions need a person (start them with `speedrun-tui run`)")
    return modes


def _seeds(fields: _Fields) -> list[int]:
    value = fields.data.get("seeds", [0])
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return list(range(value))
    if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                 for s in value):
        return list(dict.fromkeys(value))
    raise UserError(f"sweep file {fields.file}: seeds must be a list of seeds (0 or more) or a count, got {value!r}")


class _Fields:
    """Typed reads of the file's keys, each a one-line UserError naming the file and the key."""

    def __init__(self, file: Path, data: dict):
        self.file = file
        self.data = data

    def _bad(self, key: str, want: str) -> UserError:
        return UserError(f"sweep file {self.file}: {key} must be {want}, got {self.data[key]!r}")

    def strings(self, key: str, default: list[str] | None = None, *, choices: tuple[str, ...] = ()) -> list[str]:
        if key not in self.data:
            if default is None:
                raise UserError(f"sweep file {self.file}: {key} is missing (a list, e.g. {key} = [...])")
            return default
        value = self.data[key]
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise self._bad(key, "a non-empty list of strings")
        for v in values:
            if choices and v not in choices:
                raise UserError(f"sweep file {self.file}: {key}: unknown {v!r}; choose from {', '.join(choices)}")
        return list(dict.fromkeys(values))

    def text(self, key: str, default: str | None, *, choices: tuple[str, ...] = ()) -> str | None:
        value = self.data.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self._bad(key, "a non-empty string")
        if choices and value not in choices:
            raise self._bad(key, f"one of {', '.join(choices)}")
        return value

    def number(self, key: str, kind: type, default, *, minimum: float):
        value = self.data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or kind is int and not isinstance(value, int):
            raise self._bad(key, f"a {'whole ' if kind is int else ''}number")
        if value < minimum:
            raise self._bad(key, f"at least {minimum:g}")
        return kind(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def path(self, key: str) -> Path | None:
        value = self.text(key, None)
        return None if value is None else (self.file.parent / Path(value).expanduser()).resolve()
