"""Confine a candidate run: bubblewrap when it works here, else resource limits, or nothing.

The candidate is model-written code, so it runs as untrusted:

bwrap     A mount namespace where the whole filesystem is read-only, the run folder is
          the only writable place, and the user's home, /tmp, /run, speedrun-tui's home
          (session DB, other runs) and the session DB's folder are empty tmpfs; the
          interpreter and the data files (environment values that name paths) are
          mounted back read-only. No network (own net namespace: only a private
          loopback), own PID/IPC/UTS namespaces, so every process of the run dies with
          it. As root, the candidate drops to uid/gid 65534 (nobody) inside: the kernel
          ignores RLIMIT_NPROC for root, so this is what makes the process limit hold
          (and shuts it out of root-only files). As another user it runs in a user
          namespace, where the process limit counts only the sandbox's processes.
rlimits   Limits only: CPU time, address space, file size, core dumps, process count
          (not for root), plus the scrubbed environment. The candidate can read what
          you can read, use the network, and see other processes.
off       The scrubbed environment only (Slurm or GPU nodes without bwrap).

Limits are set by a tiny prelude that runs inside the sandbox just before the
candidate (`python -I -S -c PRELUDE limits -- argv`), so a user namespace is already
there when the process limit is set.
"""

from __future__ import annotations

import functools
import glob
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from runner.spec import RunSpec
from speedrun_tui.errors import UserError

MODES = ("auto", "bwrap", "rlimits", "off")
NOBODY = 65534
PROCESS_LIMIT = 512  # processes and threads of one run; torch on CPU uses a few dozen
PROCESS_LIMIT_TORCHRUN = 4096  # eight GPU workers with their CUDA and loader threads
FILE_LIMIT = 16 * 2**30  # largest file a run may write (a GPT-2 checkpoint is ~0.5 GB)
TMP_SIZE = 2 * 2**30  # the private /tmp (RAM-backed)
HIDDEN_TMPFS_SIZE = 16 * 2**20  # the empty tmpfs over each hidden folder
CPU_MARGIN_S = 60

PRELUDE = """\
import os, resource, sys
args = sys.argv[1:]
cut = args.index("--")
for item in args[:cut]:
    name, value = item.split("=")
    if name == "uid":
        os.setgroups([])
        os.setgid(int(value))
        os.setuid(int(value))
    else:
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), (int(value), int(value)))
try:
    os.execvp(args[cut + 1], args[cut + 1:])
except OSError as err:
    sys.stderr.write(f"sandbox: cannot start {args[cut + 1]}: {err.strerror}\\n")
    sys.exit(126)
"""


@dataclass(frozen=True)
class Sandbox:
    mode: str  # bwrap, rlimits or off: what actually runs
    requested: str  # what was asked for (auto resolves to one of the three)
    description: str  # one line for the session start and the README

    def to_json(self) -> dict:
        return {"sandbox": self.requested, "sandbox_active": self.mode, "sandbox_description": self.description}


def resolve(requested: str) -> Sandbox:
    """The protection `requested` gives on this machine; UserError when it can't be had."""
    if requested not in MODES:
        raise UserError(f"unknown sandbox {requested!r}: use one of {', '.join(MODES)}")
    if requested == "off":
        return Sandbox("off", requested, "off: no sandbox; the candidate runs with your permissions "
                       "(API keys are still removed from its environment)")
    if requested == "rlimits":
        return Sandbox("rlimits", requested, _rlimits_description())
    problem = bwrap_problem()
    if not problem:
        return Sandbox("bwrap", requested, _bwrap_description())
    if requested == "bwrap":
        raise UserError(f"--sandbox bwrap: bubblewrap is not usable here ({problem}); "
                        "install it (apt-get install bubblewrap) or use --sandbox rlimits or off")
    return Sandbox("rlimits", requested, f"{_rlimits_description()} (bubblewrap: {problem})")


def confine(spec: RunSpec, workdir: Path, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """argv and environment that run `argv` under spec.sandbox, with the run folder `workdir`."""
    mode = resolve(spec.sandbox).mode
    if mode == "off":
        return argv, env
    limits = _limit_args(spec, mode)
    if mode == "rlimits":
        return _prelude(spec.python, limits, argv), env
    if os.geteuid() == 0:
        _give_to_nobody(workdir)
        limits.append(f"uid={NOBODY}")
    env = {**env, "HOME": str(workdir), "TMPDIR": "/tmp"}
    return [*_bwrap_args(spec, workdir), *_prelude(spec.python, limits, argv)], env


# -- bubblewrap -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str:
    """Why bubblewrap can't confine a run here ('' when it can): missing, too old, or refused."""
    path = shutil.which("bwrap")
    if path is None or not sys.platform.startswith("linux"):
        return "bwrap not found"
    missing = [flag for flag in ("--size", "--perms", "--die-with-parent") if flag not in _bwrap_help()]
    if missing:
        return f"this bwrap is too old (no {', '.join(missing)}); 0.7 or newer is needed"
    probe = [path, *_namespace_args(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap failed to start: {err}"
    if done.returncode != 0:
        return " ".join(done.stderr.split())[:200] or f"bwrap exited with {done.returncode}"
    return ""


@functools.lru_cache(maxsize=1)
def _bwrap_help() -> str:
    try:
        return subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _namespace_args() -> list[str]:
    # Root needs no user namespace (and must not have one: inside it, root would stay root
    # to the kernel's process count). Anyone else gets one, and may not make more inside.
    args = ["--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    if os.geteuid() != 0:
        args += ["--unshare-user"]
        if "--disable-userns" in _bwrap_help():
            args += ["--disable-userns"]
    return args


def _bwrap_args(spec: RunSpec, workdir: Path) -> list[str]:
    workdir = Path(workdir).resolve()
    readable = _readable_paths(spec)
    hidden = _hidden_dirs(spec, keep=[workdir, *readable])
    shm = _physical_memory() // 2 if _uses_gpu(spec) else TMP_SIZE  # NCCL passes tensors through /dev/shm
    args = ["bwrap", *_namespace_args(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--perms", "1777", "--size", str(shm), "--tmpfs", "/dev/shm"]
    for device in sorted(glob.glob("/dev/nvidia*")):  # GPU runs need their devices in the new /dev
        args += ["--dev-bind", device, device]
    for folder in hidden:
        size, perms = (TMP_SIZE, "1777") if folder == Path("/tmp") else (HIDDEN_TMPFS_SIZE, "0755")
        args += ["--perms", perms, "--size", str(size), "--tmpfs", str(folder)]
    made: set[Path] = set()
    for path in sorted(readable, key=lambda p: len(p.parts)):
        args += _parents_in(path, hidden, made) + ["--ro-bind", str(path), str(path)]
    args += _parents_in(workdir, hidden, made) + ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    for file in _masked_files(spec, hidden):
        args += ["--ro-bind", "/dev/null", str(file)]
    return args


def _hidden_dirs(spec: RunSpec, keep: list[Path]) -> list[Path]:
    """Folders replaced by an empty tmpfs: never `/`, never one inside another hidden one."""
    from speedrun_tui.home import home_dir

    wanted = [Path.home(), home_dir(), Path("/tmp"), Path("/var/tmp"), Path("/run"),
              *(Path(p).parent if not Path(p).is_dir() else Path(p) for p in spec.sandbox_hide)]
    if os.geteuid() == 0:  # nobody must pass through to what it needs: a tmpfs over the first locked folder
        wanted += [locked for locked in map(_first_locked_parent, keep) if locked is not None]
    chosen: list[Path] = []
    for folder in sorted({_real(p) for p in wanted if Path(p).exists()}, key=lambda p: len(p.parts)):
        if folder == Path("/") or any(folder.is_relative_to(h) for h in chosen):
            continue
        if not any(folder.is_relative_to(k) for k in keep):  # hiding it would hide what the run needs
            chosen.append(folder)
    return chosen


def _first_locked_parent(path: Path) -> Path | None:
    for parent in reversed(path.parents):
        try:
            if not os.stat(parent).st_mode & 0o001:
                return parent
        except OSError:
            return None
    return None


def _masked_files(spec: RunSpec, hidden: list[Path]) -> list[Path]:
    """Hidden files left visible because their folder couldn't be hidden (the DB in `/`)."""
    files = []
    for name in spec.sandbox_hide:
        path = _real(Path(name))
        if path.is_file() and not any(path.is_relative_to(h) for h in hidden):
            files += [p for p in (path, *(Path(f"{path}{s}") for s in ("-wal", "-shm", "-journal"))) if p.exists()]
    return files


def _parents_in(path: Path, hidden: list[Path], made: set[Path]) -> list[str]:
    """`--dir` for each folder between a hidden tmpfs and `path`: bwrap would make them 0700,
    which nobody (the candidate, when we are root) could not pass through."""
    args = []
    for parent in reversed(path.parents):
        if parent in made or not any(parent.is_relative_to(h) and parent != h for h in hidden):
            continue
        made.add(parent)
        args += ["--dir", str(parent)]
    return args


def _readable_paths(spec: RunSpec) -> list[Path]:
    """What the candidate must read inside a hidden folder: its interpreter and its data."""
    paths = {_real(Path(p)) for p in _python_paths(spec.python)}
    for value in spec.env.values():  # a file's folder, so files replaced there later show too
        if os.path.isabs(value) and os.path.exists(value):
            paths.add(_real(Path(value)) if os.path.isdir(value) else _real(Path(value)).parent)
    return sorted(p for p in paths if p != Path("/"))


@functools.lru_cache(maxsize=8)
def _python_paths(python: str) -> tuple[str, ...]:
    """The interpreter, its prefixes and its import path (site-packages may be under $HOME)."""
    code = "import sys; print('\\n'.join([sys.executable, sys.prefix, sys.base_prefix, *sys.path]))"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    found = [line for line in out.splitlines() if line and os.path.exists(line)]
    exe = shutil.which(python) or python
    return tuple(dict.fromkeys([exe, os.path.realpath(exe), *found]))


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _give_to_nobody(workdir: Path) -> None:
    """The run folder (and the folders in it) become nobody's, so the dropped candidate may write there."""
    for folder, _, _ in os.walk(workdir):
        os.chown(folder, NOBODY, NOBODY)
    for script in Path(workdir).glob("*.py"):  # a candidate may rewrite its own copy; run.log stays root's
        os.chown(script, NOBODY, NOBODY)


def _bwrap_description() -> str:
    who = "runs as nobody; " if os.geteuid() == 0 else "in a user namespace; "
    return ("bwrap: read-only filesystem, only the run folder writable; home, /tmp, /run, speedrun-tui's home and "
            f"the session DB hidden; no network; own PID namespace; {who}"
            f"limits: {PROCESS_LIMIT} processes ({PROCESS_LIMIT_TORCHRUN} under torchrun), memory "
            f"{_gib(_physical_memory())} (CPU runs), files {_gib(FILE_LIMIT)}")


def _rlimits_description() -> str:
    processes = "no process limit (root is exempt)" if os.geteuid() == 0 else f"{PROCESS_LIMIT} more processes"
    return (f"rlimits only (weaker): CPU time, memory {_gib(_physical_memory())}, files {_gib(FILE_LIMIT)}, "
            f"{processes}; the candidate can read your files and use the network")


# -- limits ---------------------------------------------------------------------------------


def _prelude(python: str, limits: list[str], argv: list[str]) -> list[str]:
    return [python, "-I", "-S", "-c", PRELUDE, *limits, "--", *argv]


def _limit_args(spec: RunSpec, mode: str) -> list[str]:
    cpu_s = math.ceil(spec.timeout_s * (os.cpu_count() or 1)) + CPU_MARGIN_S
    limits = [f"CPU={cpu_s}", f"FSIZE={FILE_LIMIT}", "CORE=0"]
    memory = spec.memory_limit_mb * 2**20 if spec.memory_limit_mb else None
    if memory is None and not _uses_gpu(spec):  # CUDA maps far more address space than memory
        memory = _physical_memory()
    if memory and sys.platform != "darwin":  # macOS refuses an address-space limit
        limits.append(f"AS={memory}")
    processes = PROCESS_LIMIT_TORCHRUN if spec.launcher == "torchrun" else PROCESS_LIMIT
    if mode == "bwrap":
        limits.append(f"NPROC={processes}")
    elif os.geteuid() != 0:  # outside a namespace the count is all of this user's processes
        limits.append(f"NPROC={_user_processes() + processes}")
    return limits


def _uses_gpu(spec: RunSpec) -> bool:
    device = spec.env.get("SPEEDRUN_DEVICE")
    if spec.launcher == "torchrun" or device == "cuda":
        return True
    return device is None and bool(glob.glob("/dev/nvidia[0-9]*"))


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 16 * 2**30


def _user_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in glob.glob("/proc/[0-9]*"):
        try:
            count += os.stat(entry).st_uid == uid
        except OSError:
            continue
    return count


def _gib(size: int) -> str:
    return f"{size / 2**30:.0f} GiB"
