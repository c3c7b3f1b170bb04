"""Built-in models served through litellm's real call path, as one custom provider.

`scripted:PATH`, `replay:SESSION` and `reference` need no network: each becomes a
reply source registered under a key, and litellm routes `speedrun-builtin/<key>`
to the handler below, which answers from that source. Everything above litellm
(retries, accounting, events) is then the same as for a hosted model.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Protocol

from agent.llm import load_litellm
from speedrun_tui.errors import UserError

PROVIDER = "speedrun-builtin"
REPLY_SEPARATOR = "=== reply ==="
REFERENCE_LABEL = "reference (upper bound: the task's own next record)"

_sources: dict[str, ReplySource] = {}
_registry_lock = threading.Lock()


class ReplySource(Protocol):
    def reply(self, messages: list[dict]) -> str: ...


class OutOfReplies(Exception):
    pass


class CannedReplies:
    """Replies served in order; `start` skips those a resumed session already consumed."""

    def __init__(self, replies: list[str], *, name: str, start: int = 0):
        self.replies = replies
        self.name = name
        self.next = start
        self._lock = threading.Lock()

    def reply(self, messages: list[dict]) -> str:
        with self._lock:
            if self.next >= len(self.replies):
                raise OutOfReplies(f"{self.name}: no reply left ({len(self.replies)} used)")
            text = self.replies[self.next]
            self.next += 1
            return text


class FixedReply:
    """The same reply to every prompt (the reference model)."""

    def __init__(self, text: str):
        self.text = text

    def reply(self, messages: list[dict]) -> str:
        return self.text


def parse_scripted(text: str, *, name: str) -> list[str]:
    """Replies of a scripted file: each starts after a line `=== reply ===`; text before the first is a comment."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == REPLY_SEPARATOR]
    if not starts:
        raise UserError(f"{name}: no `{REPLY_SEPARATOR}` line; each canned reply starts after one")
    bounds = starts + [len(lines)]
    return ["".join(lines[a + 1:b]).strip("\n") + "\n" for a, b in zip(bounds, bounds[1:])]


def load_scripted(path: str, *, start: int = 0) -> CannedReplies:
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"scripted model: no file {path!r}")
    name = f"scripted:{path}"
    return CannedReplies(parse_scripted(file.read_text(), name=name), name=name, start=start)


def register(source: ReplySource) -> str:
    """The litellm model string that routes to `source`."""
    key = uuid.uuid4().hex[:12]
    with _registry_lock:
        _install_handler()
        _sources[key] = source
    return f"{PROVIDER}/{key}"


def unregister(route: str) -> None:
    with _registry_lock:
        _sources.pop(route.rsplit("/", 1)[-1], None)


def _install_handler() -> None:
    litellm = load_litellm()
    if any(item["provider"] == PROVIDER for item in litellm.custom_provider_map):
        return
    litellm.custom_provider_map = [*litellm.custom_provider_map,
                                   {"provider": PROVIDER, "custom_handler": _make_handler(litellm)}]


def _make_handler(litellm):
    from litellm import CustomLLM
    from litellm.llms.custom_llm import CustomLLMError

    class BuiltinModels(CustomLLM):
        def completion(self, model, messages, api_base, custom_prompt_dict, model_response, *args, **kwargs):
            source = _sources.get(model)
            if source is None:
                raise CustomLLMError(status_code=404, message=f"unknown built-in model {model!r}")
            try:
                text = source.reply(messages)
            except OutOfReplies as err:
                raise CustomLLMError(status_code=400, message=str(err)) from err
            model_response.choices[0].message.content = text
            prompt_tokens = litellm.token_counter(messages=messages)
            completion_tokens = litellm.token_counter(text=text)
            model_response.usage = litellm.Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                                                 total_tokens=prompt_tokens + completion_tokens)
            model_response.model = f"{PROVIDER}/{model}"
            return model_response

    return BuiltinModels()
