# SPDX-License-Identifier: MIT
"""e2e-vmid: hvcat over every kind of VM id of an hvsock: address.

hvcat-hvemu.exe under wine, on the Hyper-V socket emulation (hvemu.h),
the host and guests in partitions of their own. Each case is a
listening and a connecting hvcat, a file of some MB each way, hashed
(hvtest.hvemu.Exchange); all cases run side by side.

  host to guest    hvsock:VMID:PORT to a guest listening on
                   hvsock:wildcard:PORT, and on hvsock:parent:PORT
  guest to host    a host listener on hvsock:VMID:PORT (another VM is
                   not let in: its connect times out), hvsock:children
                   (a WSL VM does not reach it) and hvsock:wildcard
  WSL2             a host listener on the WSL VM's own id is reached
                   from it; the host reaches a WSL VM by its id

    win_e2e_vmid.py --wine-run=cross/wine-run --hvcat=hvcat-hvemu.exe
"""
from hvtest import Tap, winexe
from hvtest.hvemu import GUEST, GUEST2, WSL, Exchange, Partitions, \
    run_exchanges

t = Tap()
prog = winexe.setup(t, "hvcat")
parts = Partitions(t)


def ex(name, listen, connect, peer, **kw):
    return Exchange(t, prog.hvcat, name, parts, listen, connect, peer, **kw)


run_exchanges(t, [
    ex("host-to-guest-wildcard", ("hvsock:wildcard:5101", GUEST),
       (f"hvsock:{GUEST}:5101", None), "hvsock:parent"),
    ex("host-to-guest-parent", ("hvsock:parent:5102", GUEST),
       (f"hvsock:{GUEST}:5102", None), "hvsock:parent"),
    ex("host-listens-vmid", (f"hvsock:{GUEST}:5103", None),
       ("hvsock:parent:5103", GUEST), f"hvsock:{GUEST}",
       intruders=[(GUEST2, "hvsock:parent:5103")]),
    ex("host-listens-children", ("hvsock:children:5104", None),
       ("hvsock:parent:5104", GUEST2), f"hvsock:{GUEST2}",
       intruders=[(WSL, "hvsock:parent:5104")]),
    ex("host-listens-wildcard", ("hvsock:wildcard:5105", None),
       ("hvsock:parent:5105", GUEST), f"hvsock:{GUEST}",
       intruders=[(WSL, "hvsock:parent:5105")]),
    ex("wsl-reaches-its-vmid", (f"hvsock:{WSL}:5106", None),
       ("hvsock:parent:5106", WSL), f"hvsock:{WSL}"),
    ex("host-to-wsl", ("hvsock:parent:5107", WSL),
       (f"hvsock:{WSL}:5107", None), "hvsock:parent"),
])
t.done()
