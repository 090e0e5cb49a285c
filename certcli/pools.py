"""What every worker process of ours does: end when its parent is gone.

A process pool's workers wait for work on a pipe whose write end every sibling also holds
(fork copies it), so when the parent is killed (SIGKILL: no clean-up runs) nobody closes
it and the workers would wait forever, holding memory and, on PostgreSQL, a session each.
Each worker watches its parent instead and exits when it is reparented.
"""
from __future__ import annotations

import os


def exit_with_parent(parent: int, every: float = 0.5) -> None:
    """In a worker process: end it (exit status 1) once ``parent`` is no longer its parent."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="certcli-parent-watch", daemon=True).start()
