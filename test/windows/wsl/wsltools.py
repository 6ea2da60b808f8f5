# SPDX-License-Identifier: MIT
"""What the WSL tests share: a private wine prefix, the stand-in wsl.exe
in its system directory (wsl_standin.c says what it answers) and the
emulation's WSL partitions.

    t = Tap()
    prog = wsltools.setup(t, "hvproxy", "hvcat")  # --prefix, --wsl ...
    wsl = wsltools.StandIn(t, prog.wsl)
    wsl.set(running="Ubuntu", vmid=VM_A)          # WSL2 runs, id VM_A
    wsl.set()                                     # WSL stopped
    wsl.uninstall()                               # no wsl.exe at all
    wsl.runs()                                    # its command lines

The stand-in reads wsl-standin.txt beside itself at every run and logs
each run to wsl-standin.log there: the test never depends on what
environment hvproxy gives its children.
"""
import argparse
import atexit
import glob
import os
import shutil

from hvtest import winexe

# Two WSL2 utility VMs (WSL before and after a restart) and a third.
VM_A = "57534c32-0000-4000-8000-00000000000a"
VM_B = "57534c32-0000-4000-8000-00000000000b"
VM_C = "57534c32-0000-4000-8000-00000000000c"
# The host's partition in the emulation (hvemu.h).
HOST = "48564d55-0000-4000-8000-484f53540000"
# The service id of a port (the vsock template).
SERVICE_FMT = "{:08x}-facb-11e6-bd58-64006a7986d3"


def setup(t, *names):
    """Read --prefix (the test's own wine prefix, in the build folder)
    and use it for every program this script starts, then
    winexe.setup(t, "wsl", *names) (which boots it on the first run)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", default="")
    args, _ = ap.parse_known_args()
    if not args.prefix:
        t.check("a private wine prefix is given (--prefix DIR)", False,
                "the stand-in wsl.exe goes into the prefix's system "
                "directory: never into one other tests use")
        t.done()
    prefix = os.path.abspath(args.prefix)
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    os.environ["HVSOCK_WINEPREFIX"] = prefix
    os.environ.pop("WINEPREFIX", None)
    prog = winexe.setup(t, "wsl", *names)
    prog.prefix = prefix
    return prog


class StandIn:
    """The stand-in wsl.exe in the prefix's system directory, and what
    it is told to be. Removed at the end of the script."""

    def __init__(self, t, exe):
        self.t = t
        self.exe = exe
        self.sysdir = os.path.join(os.environ["HVSOCK_WINEPREFIX"],
                                   "drive_c", "windows", "system32")
        self.path = os.path.join(self.sysdir, "wsl.exe")
        self.control = os.path.join(self.sysdir, "wsl-standin.txt")
        self.log = os.path.join(self.sysdir, "wsl-standin.log")
        if not os.path.isdir(self.sysdir):
            t.check("the wine prefix has a system directory", False,
                    self.sysdir)
            t.done()
        for p in (self.control, self.log):
            if os.path.exists(p):
                os.unlink(p)
        self.set()
        self.install()
        atexit.register(self.remove_all)

    def install(self):
        """wsl.exe is there (WSL installed)."""
        tmp = self.path + ".tmp"
        shutil.copyfile(self.exe, tmp)
        os.chmod(tmp, 0o755)
        os.replace(tmp, self.path)

    def uninstall(self):
        """No wsl.exe (WSL not installed)."""
        if os.path.exists(self.path):
            os.unlink(self.path)

    def set(self, running=None, vmid=None, old_wslinfo=False, hang=None,
            fail=None):
        """What the next runs answer (replaced whole, atomically):
        @running a distribution's name (None: WSL stopped), @vmid what
        wslinfo --vm-id prints, @old_wslinfo a wslinfo without --vm-id,
        @hang "list", "vmid" or "all", @fail an exit status for every
        command."""
        lines = []
        if running:
            lines.append(f"running={running}")
        if vmid:
            lines.append(f"vmid={vmid}")
        if old_wslinfo:
            lines.append("wslinfo=old")
        if hang:
            lines.append(f"hang={hang}")
        if fail is not None:
            lines.append(f"fail={fail}")
        tmp = self.control + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("".join(x + "\n" for x in lines))
        os.replace(tmp, self.control)

    def runs(self):
        """The command lines of the runs so far, one a run."""
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return [x for x in f.read().splitlines() if x.strip()]
        except OSError:
            return []

    def count(self):
        return len(self.runs())

    def remove_all(self):
        for p in (self.path, self.control, self.control + ".tmp",
                  self.log):
            try:
                os.unlink(p)
            except OSError:
                pass


def emu_env(rdv, vmid=None):
    """The emulation's environment: rendezvous folder @rdv, partition
    @vmid (None: the host), the WSL VMs marked as such."""
    return {"HVEMU_DIR": winexe.winpath(rdv),
            "HVEMU_LOCAL_VMID": vmid,
            "HVEMU_WSL_VMIDS": ",".join((VM_A, VM_B, VM_C))}


def bound(rdv, port):
    """The VM ids the host's listeners on @port are bound to, as the
    emulation's rendezvous files name them."""
    svc = SERVICE_FMT.format(port)
    out = []
    for p in glob.glob(os.path.join(rdv, f"{HOST}.*.{svc}")):
        parts = os.path.basename(p).split(".")
        if len(parts) == 3:
            out.append(parts[1])
    return sorted(out)
