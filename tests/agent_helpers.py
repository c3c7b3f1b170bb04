"""A tiny fake task for agent tests: a trainer that prints modded-nanogpt lines in milliseconds.

Its training time is simulated (STEP_MS per step), so times are exact and edits that
multiply STEP_MS make it measurably faster. Other seeds than 0 raise its losses by
0.001-0.05, never across the target, so the harness's fresh-seed check sees a seeded trainer. Edits hook in after the `# speedups` line.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from agent.config import SessionConfig
from agent.controller import Controller
from records.task import Task
from sessions.store import Store

FAKE_TRAIN = '''import os
import random
import sys

STEPS = 10
STEP_MS = 100.0
val_tokens = 4096
# speedups

def main():
    train_time = 0.0
    seed = int(os.environ.get("SPEEDRUN_SEED", "0"))
    noise = random.Random(seed)  # the harness checks that seeds matter; seed 0 keeps round losses
    for step in range(STEPS + 1):
        loss = 4.0 - 3.0 * step / STEPS + (0.001 + 0.048 * noise.random() if seed else 0.0)
        print(f"step:{step}/{STEPS} val_loss:{loss:.4f} train_time:{train_time:.0f}ms step_avg:{STEP_MS:.2f}ms")
        train_time += STEP_MS


main()
'''
TARGET_LOSS = 1.5  # reached at step 9: 900 ms with STEP_MS = 100


def fake_task(tmp_path: Path, code: str = FAKE_TRAIN, *, reference: str | None = None) -> Task:
    folder = tmp_path / "fake_task"
    folder.mkdir(exist_ok=True)
    script = folder / "train.py"
    script.write_text(code)
    diff_file = None
    if reference is not None:
        from speedrun_tui.codediff import unified_diff

        diff_file = folder / "reference.diff"
        diff_file.write_text(unified_diff(code, reference))
    hint = folder / "text.md"
    hint.write_text("Make each step cheaper: scale STEP_MS down.\n")
    return Task(id="fake/1", track="micro", record=1, title="fake trainer", start_script=script,
                start_time_s=0.9, target_time_s=0.45, target_loss=TARGET_LOSS, hint_files={"text": hint},
                reference_diff_file=diff_file)


def speedup(factor: float, plan: str = "", variant: int = 0) -> str:
    """A reply that multiplies STEP_MS by `factor` (hooks on the `# speedups` anchor, so it applies to any node).
    A `variant` adds a no-op line: the same speedup as another program (the harness refuses a repeat)."""
    extra = f"variant = {variant}\n" if variant else ""
    return (f"{plan or f'Scale the step cost by {factor}.'}\n\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\n"
            f"STEP_MS *= {factor}\n{extra}>>>>>>> REPLACE\n")


def crash(plan: str = "Try something that breaks.") -> str:
    return f'{plan}\n\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\nraise RuntimeError("boom")\n>>>>>>> REPLACE\n'


# An edit whose run waits while the file $HANG_FLAG exists (in a folder of its own: the sandbox shows a run
# only the folders of its env paths), then speeds up 0.8x: a run that is surely in flight when a test kills it.
HANG = ("Wait for the flag.\n\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\nimport time\n"
        "while os.path.exists(os.environ['HANG_FLAG']):\n    time.sleep(0.05)\nSTEP_MS *= 0.8\n>>>>>>> REPLACE\n")

FIX_CRASH = ('Remove the line that raises.\n\n<<<<<<< SEARCH\nraise RuntimeError("boom")\n=======\n'
             'STEP_MS *= 0.5\n>>>>>>> REPLACE\n')


def write_script(tmp_path: Path, replies: list[str], name: str = "replies.txt") -> Path:
    path = tmp_path / name
    path.write_text("# canned replies for a test\n" + "".join(f"=== reply ===\n{r}" for r in replies))
    return path


def config(script: Path, **overrides) -> SessionConfig:
    # No paired re-timing unless a test asks (tests/test_sessions_verification.py): the fake clock is exact.
    values = dict(task_id="fake/1", model=f"scripted:{script}", scaffold="flat", max_nodes=1, verify_repeats=0)
    values.update(overrides)
    return SessionConfig(**values)


def open_controller(tmp_path: Path, cfg: SessionConfig, *, db: Path | None = None, task: Task | None = None,
                    session_id: str | None = None, run_env: dict | None = None) -> tuple[Controller, Store]:
    store = Store(db or tmp_path / "sessions.db")
    controller = Controller(cfg, store, session_id=session_id, task=task or fake_task(tmp_path),
                            run_env=run_env if run_env is not None else {})
    return controller, store


def run_session(tmp_path: Path, replies: list[str], **overrides):
    """A whole session on the fake task with scripted `replies`: (controller, score, recorder)."""
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, replies), **overrides))
    recorder = Recorder()
    controller.subscribe(recorder)
    score = controller.run()
    store.close()
    return controller, score, recorder


class Recorder:
    """A subscriber that keeps every event and can wait for one."""

    def __init__(self):
        self.events = []
        self._cond = threading.Condition()

    def __call__(self, event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def kinds(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]

    def wait_for(self, predicate, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((e for e in self.events if predicate(e)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for an event")
                self._cond.wait(left)


def run_in_thread(controller: Controller) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def work():
        try:
            outcome["score"] = controller.run()
        except BaseException as err:
            outcome["error"] = err

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, outcome


class FakeOpenAI:
    """An OpenAI-compatible /v1/chat/completions server on 127.0.0.1, run in a thread.

    `script` lists what each request gets: a reply text (200), an int HTTP status (an error), or a
    callable that gets the request handler and answers itself.
    Once the script is used up, the last entry repeats. Requests are kept in `requests`.
    """

    def __init__(self, script: list):
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.script = list(script)
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, "body": body,
                                       "authorization": self.headers.get("Authorization")})
                step = owner.script.pop(0) if len(owner.script) > 1 else owner.script[0]
                if callable(step):  # a hostile server: the step answers the request itself
                    return step(self)
                if isinstance(step, int):
                    payload = {"error": {"message": f"status {step}", "type": "server_error"}}
                    status = step
                else:
                    status = 200
                    payload = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                               "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": step}}],
                               "usage": {"prompt_tokens": 123, "completion_tokens": 45, "total_tokens": 168}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
