# SPDX-License-Identifier: MIT
"""The one bounded wait of the tests."""
import time

WAIT = 10.0  # the default bound on any wait, seconds


def wait_for(cond, timeout=WAIT, step=0.02):
    """Call @cond() every @step seconds until it returns a true value, for
    at most @timeout seconds.

    Returns that first true value. On timeout, returns what one last call
    of cond() returns (so a condition that came true just at the deadline
    still counts; otherwise a false value: None, False, 0, [] ... as
    cond() gives it). Never raises on timeout: the caller's check decides.
    """
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()
