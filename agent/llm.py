"""The LLM client: one chat call through litellm, with retries, a timeout and accounting.

litellm is imported lazily (it takes seconds) and kept quiet: its log output goes to
a file under the home folder, never to stderr, where it would corrupt a TUI.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Callable

from sessions.events import Event, LLMRequest, LLMResponse, Note
from speedrun_tui.errors import UserError

_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")
_import_lock = threading.Lock()


def load_litellm():
    """Import litellm once, offline-safe and silent."""
    with _import_lock:
        # Without this, importing litellm fetches a price list over the network.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        # Its pydantic types warn (onto stderr) when first used; the warning is about litellm's code, not ours.
        warnings.filterwarnings("ignore", message=r".*`ReadOnly` qualifier", category=UserWarning)
        import litellm

        if not getattr(litellm, "_speedrun_quiet", False):
            _silence(litellm)
        return litellm


def _silence(litellm) -> None:
    from speedrun_tui.home import home_dir

    litellm.suppress_debug_info = True
    handler = logging.FileHandler(home_dir() / "litellm.log", delay=True)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in _LITELLM_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.WARNING)
    litellm._speedrun_quiet = True


@dataclass(frozen=True)
class LLMReply:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0


class LLMError(Exception):
    """A call that failed for good (after its retries); the message is one line."""


def missing_key_message(model: str, api_base: str | None) -> str | None:
    """One line naming the environment variable a model needs, or None when all is set."""
    if api_base:  # a self-hosted endpoint: no key required
        return None
    litellm = load_litellm()
    try:
        info = litellm.validate_environment(model=model)
    except Exception:
        return None
    # Providers with a default local endpoint (ollama) list their base URL as "missing".
    missing = [k for k in info.get("missing_keys", []) if not k.endswith(("_API_BASE", "_BASE_URL"))]
    if not missing:
        return None
    return f"model {model!r} needs {' and '.join(missing)} set in the environment"


class LLMClient:
    """Chat completions for one model; every call is reported as LLMRequest/LLMResponse events."""

    def __init__(self, model: str, *, api_base: str | None = None, timeout_s: float = 600.0,
                 retries: int = 4, backoff_s: float = 2.0, label: str | None = None,
                 on_event: Callable[[Event], None] | None = None, cancel: threading.Event | None = None):
        self.model = model
        self.label = label or model  # what events show (e.g. "reference" rather than its provider route)
        self.api_base = api_base
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.on_event = on_event
        self.cancel = cancel or threading.Event()

    def check_environment(self) -> None:
        message = missing_key_message(self.model, self.api_base)
        if message:
            raise UserError(message)

    def complete(self, messages: list[dict], *, purpose: str, node: int | None = None) -> LLMReply:
        call_id = uuid.uuid4().hex[:12]
        self._emit(LLMRequest(node=node, call_id=call_id, model=self.label, purpose=purpose, messages=messages))
        try:
            reply = self._with_retries(messages, node)
        except LLMError as err:
            self._emit(LLMResponse(node=node, call_id=call_id, error=str(err)))
            raise
        self._emit(LLMResponse(node=node, call_id=call_id, text=reply.text, tokens_in=reply.tokens_in,
                               tokens_out=reply.tokens_out, cost_usd=reply.cost_usd, latency_s=reply.latency_s))
        return reply

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _with_retries(self, messages: list[dict], node: int | None) -> LLMReply:
        litellm = load_litellm()
        transient = (litellm.RateLimitError, litellm.InternalServerError, litellm.ServiceUnavailableError,
                     litellm.APIConnectionError, litellm.Timeout, litellm.BadGatewayError)
        for attempt in range(self.retries + 1):
            try:
                return self._call_once(litellm, messages)
            except transient as err:
                if attempt == self.retries or self.cancel.is_set():
                    raise LLMError(_one_line(f"{self.label}: {type(err).__name__} after "
                                             f"{attempt + 1} tries: {err}")) from err
                delay = min(60.0, self.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
                self._emit(Note(node=node, level="warning", text=_one_line(
                    f"{self.label}: {type(err).__name__}; retry {attempt + 1} of {self.retries} in {delay:.1f} s")))
                if self.cancel.wait(delay):
                    raise LLMError(f"{self.label}: cancelled while waiting to retry") from err
            except litellm.AuthenticationError as err:
                hint = missing_key_message(self.model, self.api_base) or "check the API key"
                raise LLMError(_one_line(f"{self.label}: authentication failed ({hint})")) from err
            except Exception as err:  # bad request, unknown model...: retrying won't help
                raise LLMError(_one_line(f"{self.label}: {type(err).__name__}: {err}")) from err
        raise AssertionError("unreachable")

    def _call_once(self, litellm, messages: list[dict]) -> LLMReply:
        # Retries are ours (with events and a cancel); the provider SDKs' own are turned off.
        kwargs: dict = {"model": self.model, "messages": messages, "timeout": self.timeout_s,
                        "max_retries": 0, "num_retries": 0}
        if self.api_base:
            kwargs["api_base"] = self.api_base
            if self.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
                kwargs["api_key"] = "none"  # local OpenAI-compatible servers ignore it; the SDK insists
        started = time.perf_counter()
        response = litellm.completion(**kwargs)
        latency = time.perf_counter() - started
        usage = getattr(response, "usage", None)
        return LLMReply(
            text=_valid_text(response.choices[0].message.content or ""),
            tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=_cost(litellm, response),
            latency_s=latency,
        )


def _cost(litellm, response) -> float:
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # models without a price entry (local servers, built-ins)
        return 0.0


def _valid_text(text: str) -> str:
    """The reply as text every later step can encode: lone surrogates (half characters a broken
    server sent as JSON escapes) become `?`, or they would poison each prompt that quotes them."""
    return text.encode("utf-8", "replace").decode("utf-8")


# litellm prefixes provider errors with its own class names: "litellm.BadRequestError: XException - ".
_LITELLM_PREFIX_RE = re.compile(r"litellm\.\w+: |[\w-]+Exception - ")


def _one_line(text: str, limit: int = 400) -> str:
    line = _LITELLM_PREFIX_RE.sub("", " ".join(str(text).split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"
