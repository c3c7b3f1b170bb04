"""The store against real SQLite files: write, read back, blobs, listing."""

from sessions import events as ev
from sessions.state import SessionState
from sessions.store import Store
from sessions_helpers import node_events, started


def test_new_session_append_and_blobs_survive_reopen(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as store:
        sid = store.new_session(started())
        sha = store.put_blob("print('start')\n")
        assert store.put_blob("print('start')\n") == sha
        written = [store.append(sid, e) for e in node_events(0, None, "root", sha, 100.0)]
        assert [e.seq for e in written] == list(range(1, 9))
    with Store(db, readonly=True) as store:
        assert store.get_blob(sha) == "print('start')\n"
        [info] = store.list_sessions()
        assert (info.id, info.task, info.nodes, info.events, info.best_time_s) == (sid, "micro/1", 1, 9, 100.0)
        assert info.status == "unfinished"  # closed without SessionFinished


def test_state_reducer_builds_tree_logs_curves_and_interventions():
    state = SessionState("abc")
    events = [started(), *node_events(0, None, "root", "s0", 100.0), *node_events(1, 0, "draft", "s1", 90.0),
              ev.ApprovalRequested(node=2, code_sha="s2", diff="d"),
              ev.HumanDecision(node=2, decision="steer", text="try muon"),
              ev.HumanDecision(node=2, decision="reject"),
              ev.SessionFinished()]
    for seq, event in enumerate(events):
        event.seq = seq
        state.apply(event)
    assert state.nodes[0].children == [1]
    assert state.best_node == 1 and state.best_time_s == 90.0
    assert state.logs[1] == ["line 0 of node 1", "line 1 of node 1", "line 2 of node 1"]
    assert [p.val_loss for p in state.curves[1]] == [1.9]
    assert state.interventions == {"approve": 0, "reject": 1, "steer": 1, "edit": 0}
    assert state.pending_approval is None and state.finished is not None
    assert state.last_seq == len(events) - 1
