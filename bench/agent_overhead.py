"""Agent overhead: LLM calls and tokens per node, and the controller's own time per node.

Runs scripted sessions (canned replies served through litellm's real call path) on a
tiny fake trainer, so what is measured is the agent, not training. Then sizes the
real prompts of the micro track's first task under each hint regime.

The benchmark's harness (llm-speedrunner) spends two extra LLM calls per node: one
to parse the metrics out of the log and one to summarize it. We parse the log
deterministically (runner/logparse.py), so a node costs one call, plus one per
reflection when its edit blocks don't apply.

    .venv/bin/python bench/agent_overhead.py [--nodes 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TRAINER = '''import os
STEPS = 10
STEP_MS = 100.0
val_tokens = 4096
# speedups
t = 0.0
for step in range(STEPS + 1):
    print(f"step:{step}/{STEPS} val_loss:{4.0 - 3.0 * step / STEPS:.4f} train_time:{t:.0f}ms step_avg:{STEP_MS:.2f}ms")
    t += STEP_MS
'''
GOOD = "Scale the step cost.\n\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\nSTEP_MS *= {f}\n>>>>>>> REPLACE\n"
BAD = "Tune it.\n\n<<<<<<< SEARCH\nSTEP_TIME = 1\n=======\nSTEP_TIME = 2\n>>>>>>> REPLACE\n"
HARNESS_CALLS_PER_NODE_EXTRA = 2  # metric parsing + log summary, per node, in the benchmark's harness


def session(workdir: Path, nodes: int, bad_every: int) -> dict:
    from agent.config import SessionConfig
    from agent.controller import Controller
    from records.task import Task
    from sessions.store import Store

    script = workdir / "train.py"
    script.write_text(TRAINER)
    task = Task(id="bench/1", track="micro", record=1, title="fake trainer", start_script=script,
                start_time_s=0.9, target_time_s=0.45, target_loss=1.5)
    replies = []
    for i in range(nodes):
        if bad_every and i % bad_every == 0:
            replies.append(BAD)  # fails to apply: one reflection
        replies.append(GOOD.format(f=round(0.99 - 0.01 * i, 2)))
    replies_file = workdir / "replies.txt"
    replies_file.write_text("".join(f"=== reply ===\n{r}" for r in replies))
    config = SessionConfig(task_id=task.id, model=f"scripted:{replies_file}", max_nodes=nodes)
    with Store(workdir / "sessions.db") as store:
        controller = Controller(config, store, task=task, run_env={})
        started = time.perf_counter()
        score = controller.run()
        wall = time.perf_counter() - started
    state = controller.state
    calls = len(state.call_purposes)
    runs = [n.result.wall_s for nid, n in state.nodes.items() if nid > 0 and n.result is not None]
    return {"nodes": nodes, "calls": calls, "tokens_in": state.tokens_in, "tokens_out": state.tokens_out,
            "overhead_ms": 1000 * (wall - sum(runs) - state.nodes[0].result.wall_s) / nodes, "fsr": score.fsr}


def prompt_sizes() -> list[tuple[str, int]]:
    """Tokens of the first draft prompt of micro/1 under each hint regime (what a real node sends)."""
    from agent.llm import load_litellm
    from agent.prompts import PromptContext, draft_messages
    from records.catalog import get_task
    from records.task import HINT_REGIMES

    litellm = load_litellm()
    task = get_task("micro/1")
    sizes = []
    for regime in HINT_REGIMES:
        messages = draft_messages(PromptContext(task, task.hints(regime), task.start_time_s or None),
                                  task.start_code(), {})
        sizes.append((regime, litellm.token_counter(model="gpt-4o", messages=messages)))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("SPEEDRUN_TUI_HOME", tempfile.mkdtemp(prefix="agent-bench-"))
    with tempfile.TemporaryDirectory() as tmp:
        session(Path(tmp), 1, 0)  # warm-up: litellm's lazy imports happen on its first call
    print(f"scripted sessions, flat scaffold, {args.nodes} nodes after the root:")
    for label, bad_every in (("every edit applies", 0), ("1 in 3 edits needs a reflection", 3)):
        with tempfile.TemporaryDirectory() as tmp:
            r = session(Path(tmp), args.nodes, bad_every)
        per_node = r["calls"] / r["nodes"]
        print(f"  {label:34s} LLM calls/node {per_node:.2f}   tokens/node in {r['tokens_in'] / r['nodes']:.0f} "
              f"out {r['tokens_out'] / r['nodes']:.0f}   controller overhead/node {r['overhead_ms']:.0f} ms")
    print(f"  the benchmark's harness: 1 call/node + {HARNESS_CALLS_PER_NODE_EXTRA} (metric parsing, log summary) "
          f"= {1 + HARNESS_CALLS_PER_NODE_EXTRA} calls/node; we parse logs deterministically: 0 extra calls")
    try:
        sizes = prompt_sizes()
    except Exception as err:  # the catalog may need `speedrun-tui calibrate micro` first
        print(f"prompt sizes of micro/1: unavailable ({err})")
        return
    print("draft prompt of micro/1 (tokens, gpt-4o tokenizer), by hint regime:")
    print("  " + "   ".join(f"{regime} {tokens}" for regime, tokens in sizes))
    print(f"  median {statistics.median(t for _, t in sizes):.0f} tokens in per call")


if __name__ == "__main__":
    main()
