import threading

from widgets.kit.jobs import LatestJob


def test_the_newest_request_wins_and_superseded_results_are_dropped(qtbot):
    job = LatestJob()
    release = threading.Event()
    seen = []
    job.item.connect(seen.append)

    def slow(name):
        def make(should_stop):
            release.wait(5)
            for i in range(3):
                if should_stop():
                    return
                yield (name, i)
        return make

    job.submit(slow("first"))
    job.submit(slow("second"))
    job.submit(slow("third"))  # replaces "second", which never starts
    assert job.busy()
    release.set()
    with qtbot.waitSignal(job.idle, timeout=10_000):
        pass
    assert seen == [("third", 0), ("third", 1), ("third", 2)]
    assert not job.busy()


def test_failures_are_reported_and_shutdown_joins(qtbot):
    job = LatestJob()

    def broken(_stop):
        yield 1
        raise ValueError("no such layer")

    with qtbot.waitSignal(job.failed, timeout=10_000) as failed:
        job.submit(broken)
    assert failed.args == ["ValueError: no such layer"]
    release = threading.Event()

    def endless(should_stop):
        while not should_stop():
            release.wait(0.01)
            yield 0

    job.submit(endless)
    job.shutdown()
    assert not job.busy()


def test_cancel_drops_the_running_jobs_results(qtbot):
    job = LatestJob()
    release = threading.Event()
    seen = []
    job.item.connect(seen.append)

    def make(should_stop):
        release.wait(5)
        yield "stale"

    job.submit(make)
    job.cancel()
    release.set()
    qtbot.waitUntil(lambda: not job.busy(), timeout=10_000)
    qtbot.wait(20)
    assert seen == []
