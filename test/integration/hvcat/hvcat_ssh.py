#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvcat-ssh: hvcat as an OpenSSH ProxyCommand, with a real ssh client and
a private sshd on a loopback port (temporary host key and authorized_keys;
nothing of the system's ssh setup is used or changed).

  1. ssh -o ProxyCommand='hvcat tcp:127.0.0.1:%p' runs a command;
  2. 16 MiB through that ssh session, checked by sha256 both ways;
  3. a chain: hvcat -l -k unix:S -e 'hvcat tcp:127.0.0.1:PORT' in front
     of sshd, and ProxyCommand='hvcat unix:S', two logins in turn.

Skipped when ssh, sshd or ssh-keygen is missing (Debian: openssh-client
openssh-server). As root, sshd needs its privilege separation directory
/run/sshd; it is created if missing, as the Debian service does.
"""
import os
import pwd
import shutil
import signal
import socket

from hvtest import Daemon, Tap, free_port, run, sha256_bytes, wait_for
from hvtest.hvcat import HVCAT, QUICK, Listener, Term, err_text, exited

t = Tap()
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH = shutil.which("ssh")
KEYGEN = shutil.which("ssh-keygen")
if not (SSH and KEYGEN and os.access(SSHD, os.X_OK)):
    t.skip_all("ssh, sshd or ssh-keygen not installed "
               "(openssh-client, openssh-server)")
if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)

d = t.tmp
os.chmod(d, 0o700)
user = pwd.getpwuid(os.geteuid()).pw_name
for name in ("host", "client"):
    r = run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", f"hvcat-{name}",
             "-f", f"{d}/{name}_key"])
    if r.returncode != 0:
        t.check(f"ssh-keygen {name} key", False, err_text(r))
        t.done()
shutil.copy(f"{d}/client_key.pub", f"{d}/authorized_keys")

# A free loopback port for sshd.
port = free_port()

with open(f"{d}/sshd_config", "w") as f:
    f.write(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers {user}
LogLevel VERBOSE
""")
with open(f"{d}/host_key.pub") as f:
    hostkey = f.read().split()
with open(f"{d}/known_hosts", "w") as f:
    f.write(f"[127.0.0.1]:{port} {hostkey[0]} {hostkey[1]}\n")
    f.write(f"hvcat-vm {hostkey[0]} {hostkey[1]}\n")

sshd = Daemon([SSHD, "-D", "-e", "-f", f"{d}/sshd_config"], f"{d}/sshd.log")


def sshd_up():
    if not sshd.alive():
        return "dead"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return "up"
    except OSError:
        return None


state = wait_for(sshd_up, timeout=QUICK)
if state != "up":
    t.check("private sshd on 127.0.0.1 is up", False, sshd.log())
    t.done()
t.check(f"private sshd on 127.0.0.1:{port} is up", True)


def ssh(proxy, cmd, host="127.0.0.1", input=None, timeout=30):
    args = [SSH, "-F", "/dev/null", "-T", "-p", str(port),
            "-i", f"{d}/client_key", "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={d}/known_hosts",
            "-o", f"ProxyCommand={proxy}",
            "-o", "ConnectTimeout=10", "-l", user, host, cmd]
    return args, run(args, input=input, timeout=timeout)


def transcript(args, r):
    q = " ".join(a if " " not in a and "=" not in a else repr(a)
                 for a in args)
    t.note(f"$ {q}")
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        t.note(line)
    t.note(f"(exit {r.returncode})")


proxy = f"{HVCAT} tcp:127.0.0.1:%p"
args, r = ssh(proxy, "echo hello from $(whoami) over hvcat; uname -s")
transcript(args, r)
t.check("ssh -o ProxyCommand='hvcat tcp:127.0.0.1:%p': command runs",
        r.returncode == 0 and
        r.stdout.decode().startswith(f"hello from {user} over hvcat\n"),
        f"{r.returncode} {r.stdout!r} {err_text(r)}")

data = os.urandom(16 << 20)
want = sha256_bytes(data)
args, r = ssh(proxy, "sha256sum", input=data, timeout=60)
t.check("16 MiB up through ssh over hvcat: sha256 equal",
        r.returncode == 0 and r.stdout.decode().split()[:1] == [want],
        f"{r.returncode} {r.stdout!r} {err_text(r)}")
args, r = ssh(proxy, "head -c 16777216 /dev/urandom | tee /dev/stderr",
              timeout=60)
t.check("16 MiB down through ssh over hvcat: stdout "
        "equal to the copy on stderr",
        r.returncode == 0 and len(r.stdout) == 16 << 20 and
        r.stdout == r.stderr, f"{r.returncode} {len(r.stdout)}")

# An interactive login on a terminal: ssh -tt over hvcat, a remote shell
# prompt, commands typed, exit.
term = Term([SSH, "-F", "/dev/null", "-tt", "-p", str(port),
             "-i", f"{d}/client_key", "-o", "IdentitiesOnly=yes",
             "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={d}/known_hosts",
             "-o", f"ProxyCommand={proxy}", "-l", user, "127.0.0.1",
             "env PS1='hvcat-prompt$ ' sh -i"])
ok = term.expect("hvcat-prompt$ ", timeout=20)
term.type("echo $((6*7))-over-ssh\r")
ok = ok and term.expect("42-over-ssh", timeout=10)
term.type("exit\r")
st = term.wait(timeout=20)
t.check("interactive ssh -tt session over hvcat: "
        "prompt, command, exit",
        ok and exited(st, 0), term.buf.decode("utf-8", "replace"))
term.close()

# A chain: unix listener in front of sshd, ProxyCommand on the unix side.
sock = f"{d}/ssh.sock"
front = Listener(t, ["-k", "-e", f"{HVCAT} tcp:127.0.0.1:{port}"],
                 addr=f"unix:{sock}")
t.check("hvcat -l -k unix: -e 'hvcat tcp:...' "
        "in front of sshd",
        front.addr == f"unix:{sock}", front.log())
for i in range(2):
    args, r = ssh(f"{HVCAT} unix:{sock}", f"echo login {i}",
                  host="hvcat-vm")
    if i == 0:
        transcript(args, r)
    t.check(f"ProxyCommand='hvcat unix:S' through the chain: login {i}",
            r.returncode == 0 and r.stdout == f"login {i}\n".encode(),
            f"{r.returncode} {r.stdout!r} {err_text(r)} {front.log()}")
front.proc.send_signal(signal.SIGTERM)
t.check("chain front end: SIGTERM ends it, socket file removed",
        front.wait() == -signal.SIGTERM and not os.path.exists(sock))
front.close()

sshd.stop()
t.done()
