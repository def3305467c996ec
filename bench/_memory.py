"""Peak memory for the benches that measure in a child process."""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: on Linux that keeps the high-water mark
    of the forked copy of the parent across exec, so a child would report its parent's."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
