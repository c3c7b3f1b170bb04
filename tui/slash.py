"""The co-pilot's typed commands, shared by the TUI's input line and the plain REPL."""

from __future__ import annotations

from dataclasses import dataclass

from speedrun_tui.errors import UserError

COMMANDS: dict[str, str] = {
    "/approve": "approve the pending edit",
    "/reject": "reject the pending edit (optional: a reason)",
    "/steer": "tell the agent how to change its next edit (plain text does the same)",
    "/ask": "ask the agent a question about the code or the results; no edit",
    "/fork": "/fork N [steer]: the next edit starts from node N's code, with the steer in its prompt",
    "/edit": "edit the pending code in $EDITOR",
    "/step": "allow one more node, then pause",
    "/pause": "pause or resume the session",
    "/auto": "let the agent run alone (approve every edit)",
    "/copilot": "ask before each edit",
    "/cancel": "cancel the training run in flight",
    "/quit": "stop now; the session stays resumable",
    "/help": "list these commands",
}


@dataclass(frozen=True)
class Command:
    name: str  # without the slash: approve, steer, ...
    arg: str = ""


def parse_command(line: str) -> Command | None:
    """`/ask why?` -> Command("ask", "why?"); plain text steers; blank is None."""
    line = line.strip()
    if not line:
        return None
    if not line.startswith("/"):
        return Command("steer", line)
    word, _, arg = line.partition(" ")
    if word not in COMMANDS:
        close = [name for name in COMMANDS if name.startswith(word)]
        hint = f"; did you mean {' or '.join(close)}?" if close else "; /help lists them"
        raise UserError(f"unknown command {word!r}{hint}")
    return Command(word[1:], arg.strip())


def help_lines() -> list[str]:
    width = max(map(len, COMMANDS))
    return [f"{name.ljust(width)}  {text}" for name, text in COMMANDS.items()]
