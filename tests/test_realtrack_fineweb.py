"""FineWeb shards: header/size verification, `data fineweb` through huggingface_hub against a local
endpoint (127.0.0.1), offline failure, and `--from DIR` linking."""

import hashlib
import http.server
import socket
import struct
import threading
import time

import pytest

from records.fineweb import fineweb_dir, require_data, run_env
from records.shards import HEADER_BYTES, MAGIC, ShardError, read_header, verify_shard, write_shard
from speedrun_tui.cli import main

TOKENS = [50256, 464, 2068, 7586, 21831]


def shard_bytes(tokens=TOKENS) -> bytes:
    header = struct.pack("<3i", MAGIC, 1, len(tokens)) + bytes(HEADER_BYTES - 12)
    return header + struct.pack(f"<{len(tokens)}H", *tokens)


def test_shards_in_the_real_format_pass_and_damaged_ones_fail(tmp_path):
    good = write_shard(tmp_path / "good.bin", TOKENS)
    assert good.read_bytes() == shard_bytes() and verify_shard(good) == len(TOKENS)
    (tmp_path / "cut.bin").write_bytes(shard_bytes()[:-3])
    with pytest.raises(ShardError, match=r"cut.bin: .*truncated"):
        verify_shard(tmp_path / "cut.bin")
    (tmp_path / "magic.bin").write_bytes(struct.pack("<i", 1234) + shard_bytes()[4:])
    with pytest.raises(ShardError, match="magic number 1234"):
        verify_shard(tmp_path / "magic.bin")
    (tmp_path / "version.bin").write_bytes(shard_bytes()[:4] + struct.pack("<i", 7) + shard_bytes()[8:])
    with pytest.raises(ShardError, match="version 7"):
        read_header(tmp_path / "version.bin")
    (tmp_path / "tiny.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ShardError, match="shorter than"):
        verify_shard(tmp_path / "tiny.bin")


class FakeHub:
    """Serves dataset files the way the Hugging Face hub's resolve endpoint does (HEAD + ranged GET)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub.answer(self, body=False)

            def do_GET(self):
                hub.answer(self, body=True)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, handler, body: bool) -> None:
        self.requests.append(f"{handler.command} {handler.path}")
        name = handler.path.split("/resolve/main/")[-1]
        data = self.files.get(name)
        if data is None or not handler.path.startswith("/datasets/kjj0/fineweb10B-gpt2/"):
            handler.send_response(404)
            handler.send_header("X-Error-Code", "EntryNotFound")
            handler.end_headers()
            return
        start = int(handler.headers["Range"].split("=")[1].split("-")[0]) if handler.headers.get("Range") else 0
        handler.send_response(206 if start else 200)
        handler.send_header("X-Repo-Commit", "a" * 40)
        handler.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        handler.send_header("Content-Length", str(len(data) - start))
        handler.end_headers()
        if body:
            handler.wfile.write(data[start:])

    def close(self):
        self.server.shutdown()


@pytest.fixture
def hub(monkeypatch):
    files = {"fineweb_val_000000.bin": shard_bytes(TOKENS),
             "fineweb_train_000001.bin": shard_bytes(TOKENS * 3),
             "fineweb_train_000002.bin": shard_bytes(TOKENS * 2)}
    server = FakeHub(files)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    yield server
    server.close()


def test_download_fetches_val_and_train_shards_and_verifies_each(hub, capsys):
    assert main(["data", "fineweb", "--shards", "2"]) == 0
    err = capsys.readouterr().err
    assert "[1/3] fineweb_val_000000.bin: 5 tokens, verified" in err
    assert "[3/3] fineweb_train_000002.bin: 10 tokens, verified" in err
    assert verify_shard(fineweb_dir() / "fineweb_train_000001.bin") == 15
    assert require_data() == fineweb_dir()
    gets = len([r for r in hub.requests if r.startswith("GET")])
    assert main(["data", "fineweb", "--shards", "2"]) == 0  # everything verified already: no new download
    assert len([r for r in hub.requests if r.startswith("GET")]) == gets
    assert "already in" in capsys.readouterr().err


def test_a_served_shard_with_a_bad_size_fails_verification_and_is_removed(hub, capsys):
    hub.files["fineweb_train_000001.bin"] = shard_bytes(TOKENS)[:-4]
    assert main(["data", "fineweb", "--shards", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "fineweb_train_000001.bin" in err[-1] and "truncated" in err[-1]
    assert not (fineweb_dir() / "fineweb_train_000001.bin").exists()
    assert verify_shard(fineweb_dir() / "fineweb_val_000000.bin") == 5  # what was good stays


def test_offline_fails_at_once_with_one_line(monkeypatch, capsys):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    assert main(["data", "fineweb", "--shards", "1"]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "offline: cannot reach 127.0.0.1" in err and "--from DIR" in err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["data", "fineweb"]) == 2
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err


def test_from_dir_links_verified_shards(tmp_path, capsys):
    source = tmp_path / "shards"
    write_shard(source / "fineweb_val_000000.bin", TOKENS)
    write_shard(source / "fineweb_train_000001.bin", TOKENS)
    write_shard(source / "fineweb_train_000002.bin", TOKENS)
    assert main(["data", "fineweb", "--from", str(source)]) == 0
    linked = sorted(p.name for p in fineweb_dir().iterdir())
    assert linked == ["fineweb_train_000001.bin", "fineweb_train_000002.bin", "fineweb_val_000000.bin"]
    assert (fineweb_dir() / "fineweb_val_000000.bin").resolve() == (source / "fineweb_val_000000.bin").resolve()
    env = run_env(require_data())
    assert env["NANOGPT_TRAIN_FILES"].endswith("fineweb_train_*.bin") and env["NANOGPT_VAL_TOKENS"] == "10485760"


def test_from_dir_refuses_a_damaged_shard_before_linking_any(tmp_path, capsys):
    source = tmp_path / "shards"
    write_shard(source / "fineweb_val_000000.bin", TOKENS)
    (source / "fineweb_train_000001.bin").write_bytes(shard_bytes()[:-1])
    assert main(["data", "fineweb", "--from", str(source)]) == 2
    assert "fineweb_train_000001.bin" in capsys.readouterr().err
    assert not fineweb_dir().exists() or not any(fineweb_dir().iterdir())
    assert main(["data", "fineweb", "--from", str(source), "--shards", "3"]) == 2
    assert "missing fineweb_train_000002.bin" in capsys.readouterr().err
