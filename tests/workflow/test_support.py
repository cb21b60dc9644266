"""The workflow's support functions that need no workflow run."""

import threading
import time

from maskrun.workflow.support import release_scheduler_timers


def test_release_scheduler_timers_cancels_a_pending_timer_so_the_process_can_end():
    fired = []
    timer = threading.Timer(60, lambda: fired.append(True))
    timer.start()
    other = threading.Thread(target=time.sleep, args=(0.2,))
    other.start()
    release_scheduler_timers()
    timer.join(timeout=5)
    assert not timer.is_alive()
    assert fired == []
    assert other.is_alive()  # other threads are left alone
    other.join()
