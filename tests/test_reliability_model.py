"""Hostile or broken model output: every case is an event with its reason, and the search goes on.

The model is either the scripted one (canned replies through litellm's real call path) or an
OpenAI-compatible server on 127.0.0.1 that misbehaves on purpose.
"""

import json
import time

import pytest
from agent_helpers import FakeOpenAI, Recorder, open_controller, run_session, speedup

from agent.config import SessionConfig
from agent.llm import LLMClient, LLMError

GOOD = speedup(0.5)
GOOD_TOO = speedup(0.5, variant=1)  # the same speedup as another program: a repeat would be refused
PROSE = "I would make the training faster by using a better optimizer and a larger batch.\n"
OTHER_FILE = ("Edit the data loader.\n\nloader.py\n<<<<<<< SEARCH\ndef load_batches(path):\n    return open(path)\n"
              "=======\ndef load_batches(path):\n    return []\n>>>>>>> REPLACE\n")
DROP_METRICS = ("Printing is slow; drop it.\n\n<<<<<<< SEARCH\n        print(f\"step:{step}/{STEPS} val_loss:{loss:.4f} "
                "train_time:{train_time:.0f}ms step_avg:{STEP_MS:.2f}ms\")\n=======\n        pass\n"
                ">>>>>>> REPLACE\n")
RESTORE_METRICS = ("Keep the print.\n\n<<<<<<< SEARCH\n        pass\n=======\n        print(f\"step:{step}/{STEPS} "
                   "val_loss:{loss:.4f} train_time:{train_time:.0f}ms step_avg:{STEP_MS:.2f}ms\")\n>>>>>>> REPLACE\n")
FEWER_VAL_TOKENS = "Evaluate less.\n\n<<<<<<< SEARCH\nval_tokens = 4096\n=======\nval_tokens = 512\n>>>>>>> REPLACE\n"
RESTORE_VAL_TOKENS = "Keep them.\n\n<<<<<<< SEARCH\nval_tokens = 512\n=======\nval_tokens = 4096\n>>>>>>> REPLACE\n"
HUGE = "A very long plan. " + "x" * (5 * 2**20) + "\n"


def failures(recorder):
    return [e for e in recorder.kinds("edit_failed")]


@pytest.mark.parametrize("reply, reason", [
    ("", "no SEARCH/REPLACE blocks"),
    (PROSE, "no SEARCH/REPLACE blocks"),
    (OTHER_FILE, "def load_batches(path):"),
])
def test_replies_without_a_usable_edit_go_back_to_the_model_and_the_next_one_runs(tmp_path, reply, reason):
    controller, score, recorder = run_session(tmp_path, [reply, GOOD])
    failed = failures(recorder)
    assert len(failed) == 1 and reason in failed[0].reason and not failed[0].rule_violation
    assert controller.state.nodes[1].status == "valid" and score.finished
    assert score.best_time_s == pytest.approx(0.45)


@pytest.mark.parametrize("reply, fix, broken", [
    (DROP_METRICS, RESTORE_METRICS, "the printed metric line lost its `val_loss:` field"),
    (FEWER_VAL_TOKENS, RESTORE_VAL_TOKENS, "`val_tokens` must keep its start value `4096`"),
])
def test_rule_violations_are_caught_before_the_run(tmp_path, reply, fix, broken):
    controller, score, recorder = run_session(tmp_path, [reply, fix + GOOD.split("\n\n", 1)[1]])
    failed = failures(recorder)
    assert len(failed) == 1 and failed[0].rule_violation and broken in failed[0].reason
    runs = recorder.kinds("run_started")
    assert [r.node for r in runs] == [0, 1] and failed[0].seq < runs[1].seq  # only the fixed edit ran
    assert controller.state.nodes[1].status == "valid" and score.finished


def test_a_target_loss_change_is_a_rule_violation(tmp_path):
    from agent.rules import check_rules

    start = "target_loss = 3.28\nprint(f'step:{s}/{n} val_loss:{v} train_time:{t}ms')\n"
    assert check_rules(start, start.replace("3.28", "9.99")) == [
        "`target_loss` must keep its start value `3.28`", "`target_loss` may not be set to `9.99` (protected setting)"]


def test_a_5_mb_reply_is_recorded_and_the_search_goes_on(tmp_path):
    started = time.monotonic()
    controller, score, recorder = run_session(tmp_path, [HUGE + GOOD.split("\n\n", 1)[1]])
    responses = recorder.kinds("llm_response")
    assert len(responses[0].text) > 5 * 2**20 and controller.state.nodes[1].status == "valid"
    assert score.finished and time.monotonic() - started < 120


def _raw(body: bytes, status: int = 200):
    def answer(handler):
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


def _completion(content_json: str) -> bytes:
    """A chat completion whose content is given as raw JSON string text (escapes kept as written)."""
    return (b'{"id": "c1", "object": "chat.completion", "created": 0, "model": "m", "choices": [{"index": 0, '
            b'"finish_reason": "stop", "message": {"role": "assistant", "content": ' + content_json.encode("latin-1")
            + b'}}], "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}')


def _hang(seconds: float):
    def answer(handler):
        time.sleep(seconds)
        try:
            _raw(_completion(json.dumps(GOOD)))(handler)
        except OSError:  # the client gave up and closed the connection
            pass
    return answer


def openai_session(tmp_path, script, **overrides):
    with FakeOpenAI(script) as server:
        cfg = SessionConfig(task_id="fake/1", model="openai/hostile", api_base=server.api_base, max_nodes=2,
                            **overrides)
        controller, store = open_controller(tmp_path, cfg)
        recorder = Recorder()
        controller.subscribe(recorder)
        score = controller.run()
        store.close()
    return controller, recorder, score, server


def test_invalid_utf8_and_lone_surrogates_do_not_crash_the_session(tmp_path):
    bad_bytes = _raw(_completion('"plan \xff\xfe broken"'))  # not UTF-8 at all: a failed try, retried
    surrogate = _raw(_completion('"Half characters \\udcff\\ud800 here."'))  # valid JSON, unencodable text
    controller, recorder, score, server = openai_session(tmp_path, [bad_bytes, surrogate, GOOD, GOOD_TOO])
    assert score.finished and controller.state.finished.status == "finished"
    retried = [e.text for e in recorder.kinds("note") if "retry 1" in e.text]
    assert len(retried) == 1 and len(server.requests) == 4
    texts = [e.text for e in recorder.kinds("llm_response") if not e.error]
    assert texts[0] == "Half characters ?? here.\n" or texts[0] == "Half characters ?? here."
    failed = failures(recorder)  # the prose reply had no blocks: back to the model, which fixed it
    assert len(failed) == 1 and "no SEARCH/REPLACE blocks" in failed[0].reason
    assert [n.status for n in controller.state.nodes.values()] == ["valid", "valid", "valid"]


def test_transient_errors_are_retried_with_an_event_each(tmp_path):
    controller, recorder, score, server = openai_session(tmp_path, [429, 503, GOOD, GOOD_TOO])
    retries = [e.text for e in recorder.kinds("note") if "retry" in e.text]
    assert len(retries) == 2 and "RateLimitError" in retries[0] and "ServiceUnavailableError" in retries[1]
    assert len(server.requests) == 4 and score.finished
    assert [n.status for n in controller.state.nodes.values()] == ["valid", "valid", "valid"]


def test_a_provider_that_hangs_is_cut_off_at_the_timeout_and_the_search_goes_on(tmp_path):
    started = time.monotonic()
    controller, recorder, score, server = openai_session(tmp_path, [_hang(30), GOOD, GOOD_TOO], llm_timeout_s=1.0)
    timeouts = [e.text for e in recorder.kinds("note") if "retry" in e.text]
    assert len(timeouts) == 1 and "Timeout" in timeouts[0]
    assert [n.status for n in controller.state.nodes.values()] == ["valid", "valid", "valid"] and score.finished
    assert time.monotonic() - started < 25  # nobody waited for the hung reply


def test_client_level_hang_is_a_one_line_llm_error():
    with FakeOpenAI([_hang(3)]) as server:
        client = LLMClient("openai/hang", api_base=server.api_base, timeout_s=0.5, retries=1, backoff_s=0.01)
        events = []
        client.on_event = events.append
        with pytest.raises(LLMError) as raised:
            client.complete([{"role": "user", "content": "hi"}], purpose="draft")
    assert "Timeout after 2 tries" in str(raised.value) and "\n" not in str(raised.value)
    assert [e.kind for e in events] == ["llm_request", "note", "llm_response"] and events[-1].error
