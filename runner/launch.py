"""The command line that starts a candidate: plain Python, or torchrun for GPU tasks."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from runner.spec import RunSpec


def build_command(spec: RunSpec, script_path: Path) -> list[str]:
    """argv for the child, run from the workspace (script_path is the copy there)."""
    if spec.launcher == "torchrun":
        nproc = spec.nproc_per_node or visible_gpus(spec.env)
        # `python -m torch.distributed.run` is torchrun, but pinned to the chosen interpreter.
        return [spec.python, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={nproc}", str(script_path), *spec.args]
    return [spec.python, str(script_path), *spec.args]


def visible_gpus(extra_env: dict[str, str] | None = None) -> int:
    """GPUs the child will see, without importing torch: CUDA_VISIBLE_DEVICES, else /dev/nvidiaN; at least 1."""
    visible = (extra_env or {}).get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES"))
    if visible is not None:
        count = len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    else:
        count = len(glob.glob("/dev/nvidia[0-9]*"))
    return max(count, 1)
