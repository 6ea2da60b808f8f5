# SPDX-License-Identifier: MIT
"""What /proc says of a running process: CPU time, memory, descriptors."""
import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """utime + stime of @pid in clock ticks (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    # The command name is in parentheses and may hold blanks.
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15


def cpu_share(pid, secs):
    """Fraction of one core @pid used over the next @secs (blocks), and
    the ticks it used."""
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(secs)
    t1, c1 = time.monotonic(), cpu_ticks(pid)
    return (c1 - c0) / CLK_TCK / (t1 - t0), c1 - c0


def rss_kb(pid):
    """VmRSS of @pid in kB (/proc/PID/status), or None."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def memory_kb(pid):
    """(RSS, PSS) of @pid in kB from /proc/PID/smaps_rollup (None for a
    figure not there)."""
    vals = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:"):
                vals[parts[0][:-1]] = int(parts[1])
    return vals.get("Rss"), vals.get("Pss")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_kinds(pid):
    """{'socket': n, 'pipe': n, 'other': n, 'max': highest fd}."""
    out = {"socket": 0, "pipe": 0, "other": 0, "max": -1}
    d = f"/proc/{pid}/fd"
    for name in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, name))
        except OSError:
            continue
        kind = ("socket" if target.startswith("socket:") else
                "pipe" if target.startswith("pipe:") else "other")
        out[kind] += 1
        out["max"] = max(out["max"], int(name))
    return out


def base_fds(pid, quiet=0.5, bound=5.0):
    """The descriptor count of a freshly started process once it is
    stable for @quiet seconds (hvproxy closes the socket of its READY=1
    notification only after the message is sent); at most @bound s."""
    end = time.monotonic() + bound
    last, since = fd_count(pid), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        n = fd_count(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def base_kinds(pid):
    """fd_kinds() of a freshly started process, once stable."""
    base_fds(pid)
    return fd_kinds(pid)


def under_asan(pid):
    """True if @pid runs with AddressSanitizer (meson's b_sanitize, passed
    as HVS_SANITIZE, or its runtime mapped). ASan's quarantine holds freed
    memory back (256 MB by default), so RSS then grows with the bytes
    freed, whatever the program does: RSS is only measured, not judged."""
    if "address" in os.environ.get("HVS_SANITIZE", ""):
        return True
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any("libasan" in ln or "clang_rt.asan" in ln for ln in f)
    except OSError:
        return False
