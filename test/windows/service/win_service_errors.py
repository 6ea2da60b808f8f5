# SPDX-License-Identifier: MIT
"""win-service-errors: what hvproxy.exe refuses about services, under
wine's service manager, and a service that fails to start.

A configuration with an error installs nothing (exit 2, the error named
FILE:LINE); a service name that is taken: one line, exit 1, the service
in place unchanged; bad names and --start values: exit 2; --service
outside the service manager: one line, exit 2; --remove-service and
--control of a service that does not exist, or that does not run
hvproxy: one line, exit 1, nothing touched. A service whose
configuration broke after it was installed stops at once with the
service-specific exit code 2 (WIN32_EXIT_CODE 1066).

    win_service_errors.py --wine-run=cross/wine-run --hvproxy=PATH
"""
import os

from hvtest import Tap, free_port, wait_for, winexe, write_config
from hvtest.wintools import READY, one_line, text

import svctools
from svctools import STOPPED

t = Tap()
prog = winexe.setup(t, "hvproxy")
svcs = svctools.Services(t)
keeper = svctools.keep_prefix(t, prog.hvproxy)
image = f"hvsvc-err-{os.getpid()}.exe"
exe = winexe.copy_program(t, prog.hvproxy, image)
name = f"hvtest-err-{os.getpid()}"
other = f"hvtest-other-{os.getpid()}"
svcs.track(name, image)
svcs.track(other)
conf = t.path("ok.conf")
bad = t.path("bad.conf")
port = free_port()
write_config(conf, f"""[forward a]
listen = tcp:127.0.0.1:{port}
target = tcp:127.0.0.1:9
""")
write_config(bad, f"""[forward a]
listen = tcp:127.0.0.1:{port}
bogus = 1
target = tcp:127.0.0.1:9
""")


def hvproxy(*args):
    return svctools.run([exe] + list(args), timeout=READY)


def first_line(b):
    return text(b).split("\n", 1)[0]


# ---- a broken configuration installs nothing ------------------------------
r = hvproxy("--install-service", "--service-name", name, "-c",
            winexe.winpath(bad))
err = text(r.stderr)
t.check("a broken configuration: exit 2, the error named FILE:LINE, "
        "nothing installed", r.returncode == 2 and
        "bad.conf:3: unknown key 'bogus'" in err and
        "nothing installed" in err, f"rc {r.returncode} {err!r}")
t.check("... no service, no registry key", svctools.query(name) is None and
        svctools.reg_config(name) is None)

# ---- a name that is taken --------------------------------------------------
r = hvproxy("--install-service", "--service-name", name, "--start",
            "demand", "-c", winexe.winpath(conf))
t.check("install: exit 0", r.returncode == 0,
        f"rc {r.returncode} {text(r.stderr)!r}")
before = svctools.reg_config(name) or {}
r = hvproxy("--install-service", "--service-name", name, "--start",
            "auto", "-c", winexe.winpath(conf), "-v")
t.check("the same name again: exit 1, one line: a service named NAME "
        "exists already", r.returncode == 1 and one_line(r.stderr) and
        f"a service named {name} exists already" in text(r.stderr),
        f"rc {r.returncode} {text(r.stderr)!r}")
t.check("... the service in place is unchanged",
        svctools.reg_config(name) == before and before.get("Start") == 3,
        f"{before!r}\n{svctools.reg_config(name)!r}")

# ---- bad values ------------------------------------------------------------
for args, what in (
        (["--service-name", "123"], "--service-name '123': a number"),
        (["--service-name", "a\\b"], "--service-name 'a\\b': has a"),
        (["--service-name", ""], "--service-name '': empty"),
        (["--start", "sometimes"],
         "--start 'sometimes': expected auto, demand or disabled"),
        (["--service-account", "root"],
         "--service-account 'root': expected local-service"),
):
    r = hvproxy("--install-service", *args, "-c", winexe.winpath(conf))
    t.check(f"--install-service {' '.join(args)}: exit 2, the first line "
            "names it", r.returncode == 2 and
            what in first_line(r.stderr),
            f"rc {r.returncode} {text(r.stderr)!r}")
r = hvproxy("--start", "demand", "-c", winexe.winpath(conf))
t.check("--start without --install-service: exit 2",
        r.returncode == 2 and "go with --install-service" in
        first_line(r.stderr), f"rc {r.returncode} {text(r.stderr)!r}")
r = hvproxy("--remove-service", "--service-name", name, "-v")
t.check("--remove-service with another option: exit 2, nothing removed",
        r.returncode == 2 and svctools.query(name) is not None,
        f"rc {r.returncode} {text(r.stderr)!r}")

# ---- --service outside the service manager ---------------------------------
r = hvproxy("--service", name, "-c", winexe.winpath(conf))
t.check("--service NAME run by hand: exit 2, one line naming sc.exe start",
        r.returncode == 2 and one_line(r.stderr) and
        f"sc.exe start {name}" in text(r.stderr),
        f"rc {r.returncode} {text(r.stderr)!r}")

# ---- controls of a service that is not running, or not there --------------
r = hvproxy("--control", name, "reload")
t.check("--control NAME reload of a stopped service: exit 1, one line",
        r.returncode == 1 and one_line(r.stderr) and
        "is not running" in text(r.stderr),
        f"rc {r.returncode} {text(r.stderr)!r}")
for args in (["--control", f"nosuch-{os.getpid()}", "stop"],
             ["--remove-service", "--service-name", f"nosuch-{os.getpid()}"]):
    r = hvproxy(*args)
    t.check(f"{args[0]} of a service that does not exist: exit 1, one "
            "line", r.returncode == 1 and one_line(r.stderr) and
            "there is no service named nosuch-" in text(r.stderr),
            f"rc {r.returncode} {text(r.stderr)!r}")

# ---- a service that does not run hvproxy is left alone ----------------------
r = svctools.sc("create", other, "binpath=",
                "C:\\windows\\system32\\cmd.exe /c exit 0")
t.check("(sc.exe create of a service that is not hvproxy)",
        r.returncode == 0 and svctools.query(other) is not None,
        f"rc {r.returncode} {text(r.stdout)} {text(r.stderr)}")
for args in (["--remove-service", "--service-name", other],
             ["--control", other, "stop"]):
    r = hvproxy(*args)
    t.check(f"{args[0]} of it: exit 1, one line, the service kept",
            r.returncode == 1 and one_line(r.stderr) and
            "does not run hvproxy" in text(r.stderr) and
            svctools.query(other) is not None,
            f"rc {r.returncode} {text(r.stderr)!r}")
svctools.sc("delete", other)

# ---- a failed start: the exit code ------------------------------------------
write_config(conf, f"""[forward a]
listen = tcp:127.0.0.1:{port}
bogus = 1
""")
r = svctools.sc("start", name)
st = svctools.wait_state(name, STOPPED, READY)
t.check("a configuration broken after the install: the service stops, "
        "WIN32_EXIT_CODE 1066, SERVICE_EXIT_CODE 2",
        st is not None and st["state"] == STOPPED and st["win32"] == 1066
        and st["service"] == 2, (st and st["text"]) or "no such service")
t.check("... and its process has exited",
        wait_for(lambda: not svctools.image_pids(image), READY))

# ---- remove ----------------------------------------------------------------
r = hvproxy("--remove-service", "--service-name", name)
t.check("--remove-service of the stopped service: exit 0, removed",
        r.returncode == 0 and f"removed service {name}" in text(r.stdout)
        and svctools.query(name) is None and
        svctools.reg_config(name) is None,
        f"rc {r.returncode} {text(r.stdout)!r} {text(r.stderr)!r}")
r = hvproxy("--remove-service", "--service-name", name)
t.check("removing it again: exit 1, one line",
        r.returncode == 1 and one_line(r.stderr) and
        f"there is no service named {name}" in text(r.stderr),
        f"rc {r.returncode} {text(r.stderr)!r}")
t.done()
