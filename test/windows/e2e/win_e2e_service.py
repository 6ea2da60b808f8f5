# SPDX-License-Identifier: MIT
"""e2e-service: hvcat over the service GUID forms of an hvsock: address.

hvcat-hvemu.exe under wine, on the Hyper-V socket emulation (hvemu.h),
host and guest in partitions of their own; each case a file of some MB
each way, hashed (hvtest.hvemu.Exchange), all side by side:

  - a port's template GUID spelled out (PORT-facb-11e6-bd58-64006a7986d3)
    meets the same port given as a number, both ways;
  - a GUID of no port (a Windows guest's service) between host and
    guest, both ways: towards the guest (hvsock:VMID:GUID, connecting or
    listening) hvcat warns once that Linux and FreeBSD guests listen
    only on template GUIDs, and still works; towards the host
    (hvsock:parent:GUID) and on hvsock:wildcard:GUID it does not warn.

    win_e2e_service.py --wine-run=cross/wine-run --hvcat=hvcat-hvemu.exe
"""
from hvtest import Tap, winexe
from hvtest.hvemu import GUEST, GUEST2, Exchange, Partitions, \
    run_exchanges, template

# Services of no port (a Windows guest may listen on any GUID).
SVC1 = "0b8c4e2a-93f1-4d6e-a5b7-1c2d3e4f5a6b"
SVC2 = "7f3e9d21-5c4b-4a8e-9f10-2b3c4d5e6f70"
SVC3 = "c0ffee00-1234-4abc-8def-0123456789ab"

t = Tap()
prog = winexe.setup(t, "hvcat")
parts = Partitions(t)


def ex(name, listen, connect, peer, **kw):
    return Exchange(t, prog.hvcat, name, parts, listen, connect, peer, **kw)


run_exchanges(t, [
    ex("template-spelled-host-listens",
       (f"hvsock:wildcard:{template(5132)}", None),
       ("hvsock:parent:5132", GUEST), f"hvsock:{GUEST}"),
    ex("template-spelled-host-connects", ("hvsock:parent:5133", GUEST),
       (f"hvsock:{GUEST}:{template(5133).upper()}", None),
       "hvsock:parent"),
    ex("guid-host-connects", (f"hvsock:parent:{SVC1}", GUEST),
       (f"hvsock:{GUEST}:{SVC1}", None), "hvsock:parent", warn=(0, 1)),
    ex("guid-host-listens-vmid", (f"hvsock:{GUEST}:{SVC2}", None),
       (f"hvsock:parent:{SVC2}", GUEST), f"hvsock:{GUEST}", warn=(1, 0)),
    ex("guid-host-listens-wildcard", (f"hvsock:wildcard:{SVC3}", None),
       (f"hvsock:parent:{SVC3}", GUEST2), f"hvsock:{GUEST2}"),
])
t.done()
