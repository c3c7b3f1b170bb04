"""Human mode: the person edits train.py in a workspace; each save proposes a node, approved ones run."""

from __future__ import annotations

import queue
from pathlib import Path

from agent.decisions import POLL_S
from speedrun_tui.codediff import unified_diff
from agent.rules import check_rules
from agent.scaffolds import best_valid, counted
from sessions.events import ApprovalRequested, EditApplied, EditFailed, EditProposed, HumanDecision, Note

class HumanLoop:
    """The Controller's human nodes (a mixin: the controller sequences, this runs one node)."""

    def _human_node(self) -> bool:
        """Wait for the person to save train.py and ask for a run; False when the session should end."""
        if len(counted(self.state.nodes)) >= self.budget:
            return False
        workspace = self._open_workspace()
        base = self._human_base
        base_code = self._code(base)
        nid: int | None = None
        shown = base_code
        attempt = 0
        first = True  # a resumed session's workspace may hold edits saved before
        while not self._decisions.empty():  # answers given before this node existed are stale
            self._decisions.get_nowait()
        while not self._stopping.is_set():
            fork = self._take_fork() if self.mode == "human" else None
            if self.mode != "human" or fork is not None:
                if nid is not None:
                    why = "left human mode" if fork is None else f"forked from node {fork}"
                    self._emit(HumanDecision(node=nid, decision="skip", text=why, by="policy"))
                if fork is not None:
                    self._human_base = fork
                    workspace.write(self._code(fork))
                return True
            saved = workspace.saved.wait(POLL_S)
            workspace.saved.clear()  # before reading: a save after this point raises it again
            code = workspace.read() if saved or first else ""
            first = False
            if code and code != shown:
                shown = code
                nid = self._create_node("human", base) if nid is None else nid
                attempt += 1
                code_sha = self.store.put_blob(code)
                diff = unified_diff(base_code, code)
                self._emit(EditProposed(node=nid, parent_sha=self.store.put_blob(base_code), code_sha=code_sha,
                                        diff=diff, attempt=attempt))
                self._emit(ApprovalRequested(node=nid, code_sha=code_sha, diff=diff))
            try:
                decision, by = self._decisions.get_nowait()
            except queue.Empty:
                continue
            if nid is None:
                self._emit(Note(text=f"nothing to run yet: save {workspace.path} first"))
                continue
            self._emit(HumanDecision(node=nid, decision=decision.kind, text=decision.text, by=by))
            if decision.kind in ("skip", "reject"):
                return True
            if decision.kind == "edit":
                workspace.write(decision.code)
                workspace.saved.set()
            elif decision.kind in ("approve", "approve_all") and self._run_human(nid, shown, base_code):
                self._human_base = nid
                return True
            elif decision.kind == "steer":
                self._emit(Note(text="steering needs the model: switch to copilot mode"))
        return False

    def _run_human(self, nid: int, code: str, base_code: str) -> bool:
        violations = check_rules(self.start_code, code)  # not through the model: a human session may have none
        if violations:
            self._emit(EditFailed(node=nid, reason="The edit breaks the rules: " + "; ".join(violations),
                                  rule_violation=True))
            return False
        if not self._wait_turn():
            return False
        code_sha = self.store.put_blob(code)
        self._emit(EditApplied(node=nid, code_sha=code_sha, diff=unified_diff(base_code, code)))
        self.applied.add(nid)
        self._execute(nid, code, code_sha, self._timeout())
        return True

    def _open_workspace(self):
        if self._workspace is None:
            from agent.workspace import Workspace
            from speedrun_tui.home import home_dir

            best = best_valid(self.state.nodes)
            fork = self._take_fork()  # one decided before a stop: its code is in the workspace already
            self._human_base = fork if fork is not None else best.id if best is not None else 0
            folder = home_dir() / "workspaces" / self.session_id
            self._workspace = Workspace(folder, self._code(self._human_base))
            self._emit(Note(text=f"edit {self._workspace.path} in your editor; each save shows its diff, "
                            "approve to run it"))
        return self._workspace

    @property
    def workspace_path(self) -> Path | None:
        """Human mode's train.py, once the session is in human mode."""
        return self._workspace.path if self._workspace is not None else None
