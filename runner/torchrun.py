"""GPU runs of nanogpt tasks: which GPUs are there, the hardware string, and the data each run needs.

The command itself (`python -m torch.distributed.run --standalone --nproc_per_node=N`)
is runner.launch.build_command's; this module names the hardware every result
records (times compare only on equal hardware) and gives the record scripts their
data: the environment variables llm-speedrunner's templates read, and a
`data/fineweb10B` link in the run folder for the original records' relative paths.
No torch import: GPUs are found with nvidia-smi.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

from runner.launch import visible_gpus
from runner.spec import RunSpec

NANOGPT_TIMEOUT_S = 60 * 60.0  # per run; the slowest record (#1) needs ~50 min on 8xH100
DATA_ENV = "SPEEDRUN_FINEWEB_DIR"
DATA_LINK = Path("data") / "fineweb10B"


def gpu_names(env: dict[str, str] | None = None) -> list[str]:
    """Names of the GPUs a child would see (CUDA_VISIBLE_DEVICES applied); [] without nvidia-smi."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index,uuid,name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    rows = [[cell.strip() for cell in line.split(",", 2)] for line in out.stdout.splitlines() if line.count(",") >= 2]
    visible = (env or {}).get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES"))
    if visible is None:
        return [name for _, _, name in rows]
    by_key = {key: name for index, uuid, name in rows for key in (index, uuid)}
    return [by_key[d.strip()] for d in visible.split(",") if d.strip() in by_key]


def hardware_string(spec: RunSpec) -> str:
    """'NVIDIA H100 80GB HBM3 x8' for a torchrun spec on GPUs; 'cpu x<cores>' otherwise."""
    if spec.launcher == "torchrun":
        names = gpu_names(spec.env)
        nproc = spec.nproc_per_node or visible_gpus(spec.env)
        if names:
            used = Counter(names[:nproc])
            return " + ".join(f"{name} x{count}" for name, count in used.items())
    threads = spec.env.get("OMP_NUM_THREADS")
    return f"cpu x{threads} threads" if threads else f"cpu x{os.cpu_count()}"


def link_data(workdir: Path, env: dict[str, str]) -> None:
    """Give the run folder `data/fineweb10B` -> the shards, when the spec names a FineWeb folder."""
    source = env.get(DATA_ENV)
    if not source:
        return
    link = Path(workdir) / DATA_LINK
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    if not link.exists():
        link.symlink_to(Path(source), target_is_directory=True)
