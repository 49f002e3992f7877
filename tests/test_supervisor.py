"""The supervisor of `handrail run` (handrail/supervisor.py): a process that dies is started again; one that
keeps dying stops everything rather than flapping for ever."""

import sys

from handrail import supervisor as supervising

NAP = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_process_that_keeps_dying_stops_everything_after_its_restarts(monkeypatch, tmp_path):
    monkeypatch.setattr(supervising, "FIRST_PAUSE", 0.01)
    count = tmp_path / "starts"
    crash = [sys.executable, "-c", f"open({str(count)!r}, 'a').write('x'); raise SystemExit(3)"]
    supervisor = supervising.Supervisor()
    try:
        napper = supervisor.start("napper", NAP, {})
        supervisor.start("crasher", crash, {})
        assert supervisor.wait() == 1
        assert count.read_text() == "x" * supervising.RESTARTS  # started, then again after each death but the last
        assert napper.poll() is None  # the healthy one was never restarted
    finally:
        supervisor.stop()
    assert napper.poll() is not None  # and stop() ends it
