"""What kind of CPU a calibration was measured on, and what this machine is.

A micro rung's time depends on the CPU's vector instructions (an AVX2-only core runs
the same fp32 rung 2-3x slower than an AVX512 one), on the torch build and on the
thread count, so every calibration carries the fingerprint of the machine that made it,
and the catalog picks the calibration whose fingerprint matches this machine.

The instruction set is the one torch's CPU kernels dispatch to
(`torch.backends.cpu.get_cpu_capability()`, which honours ATEN_CPU_CAPABILITY). The
TUI process never imports torch, so it is asked of a short-lived child process once per
(CPU, torch version, environment) and cached on disk.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path


# The variables that change which kernels torch picks (records/micro/README.md shows how
# they approximate an AVX2-only CPU on an AVX512 one).
ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
PROBE = "import torch; print(torch.backends.cpu.get_cpu_capability())"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class CpuFingerprint:
    model: str  # /proc/cpuinfo's model name
    capability: str  # torch.backends.cpu.get_cpu_capability(): AVX2, AVX512, DEFAULT (ARM), ...
    torch: str  # torch's version
    threads: int  # torch threads per run
    mhz: float = 0.0  # the clock /proc/cpuinfo reported when it was taken (0: unknown)
    arch: str = ""  # x86_64, aarch64

    def describe(self) -> str:
        clock = f", {self.mhz / 1000:.1f} GHz" if self.mhz else ""
        return (f"{self.model} ({self.capability}{clock}), torch {self.torch}, "
                f"{self.threads} thread{'s' if self.threads != 1 else ''}")

    def same_kind(self, other: CpuFingerprint) -> bool:
        """Whether times measured on `other` hold here: same CPU model, instructions and torch.

        Threads are not compared: runs use the calibration's own thread count. The clock is
        recorded, not compared: it wanders between runs of one machine."""
        return (self.model, self.capability, self.torch) == (other.model, other.capability, other.torch)

    def likeness(self, other: CpuFingerprint) -> tuple[bool, ...]:
        """How close `other` is, for choosing the nearest calibration: instructions matter most."""
        return (self.capability == other.capability, self.arch == other.arch, self.model == other.model,
                self.torch == other.torch)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> CpuFingerprint:
        return cls(**{k: data[k] for k in ("model", "capability", "torch", "threads")},
                   mhz=float(data.get("mhz") or 0.0), arch=data.get("arch", ""))


def this_cpu(threads: int) -> CpuFingerprint:
    """This machine's fingerprint for runs with `threads` torch threads."""
    model, mhz = _cpuinfo()
    return CpuFingerprint(model or platform.processor() or platform.machine(), _capability(),
                          _torch_version(), threads, mhz, platform.machine())


def _cpuinfo() -> tuple[str, float]:
    model, mhz = "", 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "cpu MHz" and not mhz:
                mhz = round(float(value), 1)
    except (OSError, ValueError):
        pass
    return model, mhz


def _torch_version() -> str:
    try:
        return metadata.version("torch").split("+")[0]
    except metadata.PackageNotFoundError:
        return "none"


def _capability() -> str:
    """torch's CPU capability here, from the disk cache or a child process."""
    key = _cache_key()
    cache = _cache_file()
    try:
        cached = json.loads(cache.read_text())
        if key in cached:
            return cached[key]
    except (OSError, ValueError):
        cached = {}
    capability = _probe(key)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({**cached, key: capability}))
    except OSError:
        pass  # a read-only home only costs the probe next time
    return capability


@functools.lru_cache(maxsize=8)
def _probe(_key: str) -> str:
    """One child process per key and process: the key covers everything that changes the answer."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return UNKNOWN
    lines = done.stdout.split()
    # Without torch (an install without the training extra) no calibration can match, which is true.
    return lines[-1] if done.returncode == 0 and lines else UNKNOWN


def _cache_key() -> str:
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = platform.processor()
    parts = [flags, _torch_version(), sys.executable, *(os.environ.get(v, "") for v in ISA_VARIABLES)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _cache_file() -> Path:
    from speedrun_tui.home import home_dir

    return home_dir() / "cpu_capability.json"
