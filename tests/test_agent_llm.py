import subprocess
import sys

import pytest
from agent_helpers import FakeOpenAI, write_script

from agent.llm import LLMClient, LLMError, missing_key_message
from agent.providers import load_scripted, parse_scripted, register
from speedrun_tui.errors import UserError

MESSAGES = [{"role": "user", "content": "Make it faster."}]


def test_scripted_replies_come_through_litellm_in_order_with_accounting(tmp_path):
    events = []
    route = register(load_scripted(str(write_script(tmp_path, ["first reply\n", "second reply\n"]))))
    client = LLMClient(route, label="scripted:x", on_event=events.append)
    assert client.complete(MESSAGES, purpose="draft", node=1).text == "first reply\n"
    second = client.complete(MESSAGES, purpose="improve", node=2)
    assert second.text == "second reply\n" and second.tokens_in > 0 and second.tokens_out > 0
    with pytest.raises(LLMError, match="no reply left"):
        client.complete(MESSAGES, purpose="draft")
    requests = [e for e in events if e.kind == "llm_request"]
    responses = [e for e in events if e.kind == "llm_response"]
    assert [r.purpose for r in requests] == ["draft", "improve", "draft"]
    assert [r.model for r in requests] == ["scripted:x"] * 3 and requests[0].messages == MESSAGES
    assert [r.call_id for r in responses] == [r.call_id for r in requests]
    assert responses[2].error and not responses[0].error and responses[1].latency_s > 0


def test_scripted_file_format():
    text = "comment line\n=== reply ===\nplan A\n\n=== reply ===\nplan B\n=== reply ===\n"
    assert parse_scripted(text, name="f") == ["plan A\n", "plan B\n", "\n"]
    with pytest.raises(UserError, match="no `=== reply ===` line"):
        parse_scripted("just text", name="f")
    with pytest.raises(UserError, match="no file"):
        load_scripted("/nonexistent/replies.txt")


def test_openai_compatible_server_with_retries_on_rate_limit_and_server_errors():
    with FakeOpenAI([429, 500, "the answer"]) as server:
        events = []
        client = LLMClient("openai/tiny-model", api_base=server.api_base, backoff_s=0.01, on_event=events.append)
        reply = client.complete(MESSAGES, purpose="draft")
    assert reply.text == "the answer" and (reply.tokens_in, reply.tokens_out) == (123, 45)
    assert len(server.requests) == 3
    assert server.requests[0]["path"] == "/v1/chat/completions"
    assert server.requests[0]["body"]["model"] == "tiny-model"
    assert server.requests[0]["body"]["messages"] == MESSAGES
    assert [e.kind for e in events if e.kind.startswith("llm_")] == ["llm_request", "llm_response"]
    assert all(e.level == "warning" for e in events if e.kind == "note")  # retries may be announced


def test_persistent_server_errors_end_in_one_line_error():
    with FakeOpenAI([503]) as server:
        client = LLMClient("openai/tiny-model", api_base=server.api_base, retries=2, backoff_s=0.01)
        with pytest.raises(LLMError) as info:
            client.complete(MESSAGES, purpose="draft")
    assert len(server.requests) == 3 and "\n" not in str(info.value) and "after 3 tries" in str(info.value)


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    message = missing_key_message("anthropic/claude-sonnet-4-5", None)
    assert message == "model 'anthropic/claude-sonnet-4-5' needs ANTHROPIC_API_KEY set in the environment"
    assert missing_key_message("openai/local", "http://127.0.0.1:9/v1") is None
    assert missing_key_message("ollama_chat/llama3", None) is None


def test_litellm_writes_nothing_to_stderr(tmp_path):
    script = write_script(tmp_path, ["ok\n"])
    code = (
        "from agent.providers import load_scripted, register\n"
        "from agent.llm import LLMClient, LLMError\n"
        f"client = LLMClient(register(load_scripted({str(script)!r})))\n"
        "client.complete([{'role': 'user', 'content': 'hi'}], purpose='draft')\n"
        "try:\n    client.complete([{'role': 'user', 'content': 'hi'}], purpose='draft')\n"
        "except LLMError:\n    pass\n"
        "bad = LLMClient('openai/x', api_base='http://127.0.0.1:9/v1', retries=0)\n"
        "try:\n    bad.complete([{'role': 'user', 'content': 'hi'}], purpose='draft')\n"
        "except LLMError:\n    print('failed cleanly')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "failed cleanly\n" and out.stderr == ""
