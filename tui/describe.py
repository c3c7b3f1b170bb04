"""One line of text per event, for the plain REPL, the chat pane and the replay timeline."""

from __future__ import annotations

from rich.text import Text

from runner.machineload import busy_note
from sessions import events as ev
from speedrun_tui.codediff import diff_stats
from sessions.report import verified_text


def _node(event: ev.Event) -> str:
    return f"node {event.node}" if event.node is not None else "session"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def describe(event: ev.Event) -> str | None:
    """A one-line summary, or None for events that only feed panes (log lines, metrics)."""
    match event:
        case ev.SessionStarted():
            return (f"session started: task {event.task}, model {event.model}, scaffold {event.scaffold}, "
                    f"hints {event.hints}, mode {event.mode}")
        case ev.NodeCreated():
            parent = f" from node {event.parent}" if event.parent is not None else ""
            return f"{_node(event)} created ({event.stage}{parent})"
        case ev.LLMRequest():
            return f"{_node(event)}: asking {event.model} ({event.purpose})"
        case ev.LLMResponse():
            if event.error:
                return f"{_node(event)}: model error: {event.error}"
            return (f"{_node(event)}: model answered ({event.tokens_in} tokens in, {event.tokens_out} out, "
                    f"${event.cost_usd:.4f}, {event.latency_s:.1f} s)")
        case ev.Plan():
            return f"{_node(event)} plan: {event.text}"
        case ev.EditProposed():
            added, removed = diff_stats(event.diff)
            return f"{_node(event)} edit proposed: +{added} -{removed} lines (attempt {event.attempt})"
        case ev.EditFailed():
            return f"{_node(event)} edit failed (attempt {event.attempt}): {event.reason}"
        case ev.ApprovalRequested():
            added, removed = diff_stats(event.diff)
            return f"{_node(event)} waits for approval: +{added} -{removed} lines"
        case ev.HumanDecision() if event.decision == "fork":
            text = f": {event.text}" if event.text else ""
            return f"{event.by} forks from node {event.node}: the next edit starts from its code{text}"
        case ev.HumanDecision():
            text = f": {event.text}" if event.text else ""
            return f"{_node(event)} {event.by} decision {event.decision}{text}"
        case ev.EditApplied():
            return f"{_node(event)} edit applied"
        case ev.RunStarted():
            return f"{_node(event)} run started ({event.backend}{', ' + event.sandbox if event.sandbox else ''})"
        case ev.RunFinished():
            result = event.result
            return (f"{_node(event)} run finished: {result.get('status')}, "
                    f"time to target {_seconds(_ms_to_s(result.get('time_to_target_ms')))}, "
                    f"final val_loss {_loss(result.get('final_val_loss'))}{busy_note(result.get('load'))}")
        case ev.NodeScored():
            best = " (best so far)" if event.is_best else ""
            reason = f" - {event.reason}" if event.reason else ""
            return f"{_node(event)} scored {event.status}: {_seconds(event.time_s)}{best}{reason}"
        case ev.TargetTimed():
            if event.time_s is not None:
                return f"next record timed here: {_seconds(event.time_s)} to target (seed {event.seed})"
            reason = f" - {event.reason}" if event.reason else ""
            return f"next record's timing {event.status}{reason}; scores use the calibrated ratio"
        case ev.Retimed():
            what = _seconds(event.time_s) if event.time_s is not None else event.status
            reason = f" - {event.reason}" if event.reason and event.time_s is None else ""
            return f"verification round {event.round}: {event.role} {what} (seed {event.seed}){reason}"
        case ev.Verified():
            return "verified " + verified_text(event.fsr, event.low, event.high, event.rounds, event.improved)
        case ev.Note():
            return f"{event.level}: {event.text}"
        case ev.SessionFinished():
            reason = f": {event.reason}" if event.reason else ""
            return f"session {event.status}{reason}"
        case ev.Unknown():
            return f"({event.original_kind} event from a newer version)"
    return None


def _ms_to_s(value: float | None) -> float | None:
    return None if value is None else value / 1000.0


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


CHAT_STYLES = {"plan": "bold", "llm_response": "green", "human_decision": "bold yellow",
               "note": "cyan", "edit_failed": "red"}


def chat_entry(event: ev.Event) -> Text:
    """A chat-pane entry: who speaks, then what they said."""
    match event:
        case ev.Plan():
            who, body = f"agent · node {event.node} plan", event.text
        case ev.LLMResponse():
            who, body = "agent · answer", event.text or event.error
        case ev.HumanDecision() if event.decision == "fork":
            who, body = f"you · fork from node {event.node}", event.text
        case ev.HumanDecision():
            who, body = f"you · {event.decision}", event.text
        case ev.EditFailed():
            who, body = f"edit failed · node {event.node}", event.reason
        case ev.Note():
            who, body = f"note · {event.level}", event.text
        case _:
            who, body = event.kind, describe(event) or ""
    entry = Text(who, style=CHAT_STYLES.get(event.kind, "bold"))
    entry.append("\n")
    entry.append(body.rstrip())
    return entry
