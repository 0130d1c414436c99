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


def test_overlap_starts_the_newest_at_once_and_joins_the_superseded_on_shutdown(qtbot):
    job = LatestJob(overlap=True)
    release_first = threading.Event()
    second_started = threading.Event()
    seen = []
    job.item.connect(seen.append)

    def first(should_stop):
        yield "first 0"  # reaches the screen: it is the newest run now
        release_first.wait(10)  # blocked in a draw that looks at no stop flag
        yield "first 1"  # superseded by then: dropped

    def second(should_stop):
        second_started.set()
        for i in range(3):
            yield ("second", i)

    job.submit(first)
    qtbot.waitUntil(lambda: seen == ["first 0"], timeout=10_000)
    superseded = job.current_worker()
    with qtbot.waitSignal(job.idle, timeout=10_000):
        job.submit(second)  # starts although the first has not ended
    assert second_started.is_set() and job.winding_down() == 1 and superseded.is_running()
    assert seen == ["first 0", ("second", 0), ("second", 1), ("second", 2)]
    assert not job.busy()  # only the superseded run is still ending
    release_first.set()
    job.shutdown()  # joins the superseded worker too
    assert job.winding_down() == 0 and not superseded.is_running()
    qtbot.wait(20)
    assert "first 1" not in seen
