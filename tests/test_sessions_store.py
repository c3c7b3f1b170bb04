"""The store against real SQLite files: write, read back, blobs, listing."""

import threading
import time

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
              ev.SessionFinished(),
              ev.JudgeScore(model="judge", score=0.5, best_node=1)]
    for seq, event in enumerate(events):
        event.seq = seq
        state.apply(event)
    assert state.nodes[0].children == [1]
    assert state.best_node == 1 and state.best_time_s == 90.0
    assert state.logs[1] == ["line 0 of node 1", "line 1 of node 1", "line 2 of node 1"]
    assert [p.val_loss for p in state.curves[1]] == [1.9]
    assert state.interventions == {"approve": 0, "reject": 1, "steer": 1, "edit": 0}
    assert state.pending_approval is None and state.finished is not None
    assert state.judge.score == 0.5
    assert state.last_seq == len(events) - 1


def test_decisions_commit_at_once_and_log_lines_within_the_flush_interval(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as writer, Store(db, readonly=True) as reader:
        sid = writer.new_session(started())
        writer.append(sid, ev.ApprovalRequested(node=1, code_sha="abc", diff="+x"))
        assert reader.event_count(sid) == 2  # committed before append returned
        writer.append(sid, ev.LogLines(node=1, lines=["step:1/10 train_loss:3.0"]))
        deadline = time.monotonic() + 5
        while reader.event_count(sid) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reader.read_events(sid, 2)[0].lines == ["step:1/10 train_loss:3.0"]


def test_appends_from_many_threads_get_distinct_contiguous_seqs(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as store:
        sid = store.new_session(started())

        def publish(worker: int) -> None:
            for i in range(500):
                store.append(sid, ev.LogLines(node=worker, lines=[f"{worker}:{i}"]))
                if i % 100 == 0:
                    store.append(sid, ev.Note(node=worker, text="checkpoint"))
                    store.append(sid, ev.RunFinished(node=worker, result={"status": "crashed", "exit_code": 1}))

        threads = [threading.Thread(target=publish, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with Store(db, readonly=True) as store:
        events = store.read_events(sid)
    assert [e.seq for e in events] == list(range(1 + 4 * 510))
    for worker in range(4):  # each thread's own events stay in its order
        lines = [e.lines[0] for e in events if e.kind == "log_lines" and e.node == worker]
        assert lines == [f"{worker}:{i}" for i in range(500)]


def test_resume_continues_the_sequence_and_reopens_the_session(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as store:
        sid = store.new_session(started())
        store.append(sid, ev.SessionFinished(status="stopped"))
        assert store.session_info(sid).status == "unfinished"
    with Store(db) as store:
        assert store.resume_session(sid[:5]) == 2
        assert store.session_info(sid).status == "running"
        assert store.append(sid, ev.Note(text="resumed")).seq == 2
        store.append(sid, ev.SessionFinished())
        assert (store.session_info(sid).status, store.session_info(sid).ended) == ("finished", "finished")


def test_the_reducer_knows_every_event_kind():
    from sessions.state import _HANDLERS

    kinds = {cls.kind for cls in ev.Event.__subclasses__()} - {ev.Unknown.kind}
    assert kinds - set(_HANDLERS) == set()  # log_lines etc. included; Unknown is shown raw, not applied
