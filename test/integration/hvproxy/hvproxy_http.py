# SPDX-License-Identifier: MIT
"""hvproxy-http: real HTTP through hvproxy: curl against python's
http.server on loopback, one big file, parallel requests, a directory
listing; the per-connection log lines and the metrics agree."""
import os
import shutil
import subprocess
import sys

from hvtest import Daemon, Tap, free_port, sha256_bytes, wait_for
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.net import connect

t = Tap()
if shutil.which("curl") is None:
    t.skip("curl through hvproxy", "curl is not installed")
    t.done()

root = t.path("www")
os.mkdir(root)
big = os.urandom(5 * 1024 * 1024 + 17)
with open(os.path.join(root, "big.bin"), "wb") as f:
    f.write(big)
with open(os.path.join(root, "hello.txt"), "w") as f:
    f.write("hello through hvproxy\n")

web_port = free_port()
web = Daemon([sys.executable, "-m", "http.server", str(web_port),
              "--bind", "127.0.0.1", "--directory", root,
              "--protocol", "HTTP/1.1"], t.path("http.server.log"))


def listening(port):
    try:
        connect(port, 1).close()
        return True
    except OSError:
        return False


t.check("http.server is up", wait_for(lambda: listening(web_port), 10))

lp, mp = free_port(), free_port()
p = Proxy(t, ["-v", f"tcp:{lp}", f"tcp:127.0.0.1:{web_port}",
              "--metrics", f"127.0.0.1:{mp}"])

url = f"http://127.0.0.1:{lp}"
r = subprocess.run(["curl", "-sS", "--max-time", "20", f"{url}/big.bin"],
                   capture_output=True, timeout=30)
t.check("curl big.bin through hvproxy: exit 0", r.returncode == 0,
        r.stderr.decode())
t.check("big.bin arrives byte-exact (sha256)",
        sha256_bytes(r.stdout) == sha256_bytes(big),
        f"{len(r.stdout)} bytes, expected {len(big)}")

r = subprocess.run(["curl", "-sS", "--max-time", "10", f"{url}/hello.txt"],
                   capture_output=True, timeout=20)
t.check("small file", r.stdout == b"hello through hvproxy\n",
        repr(r.stdout[:100]))

r = subprocess.run(["curl", "-sS", "--max-time", "10", f"{url}/"],
                   capture_output=True, timeout=20)
t.check("directory listing", b"big.bin" in r.stdout and b"hello.txt" in
        r.stdout, repr(r.stdout[:200]))

# Eight at once, each on its own connection.
procs = [subprocess.Popen(["curl", "-sS", "--max-time", "30",
                           f"{url}/big.bin"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) for _ in range(8)]
outs = [q.communicate(timeout=40)[0] for q in procs]
t.check("8 parallel downloads, all byte-exact",
        all(sha256_bytes(o) == sha256_bytes(big) for o in outs),
        str([len(o) for o in outs]))

# Keep-alive: two requests on one connection (an HTTP/1.1 server).
r = subprocess.run(["curl", "-sS", "--max-time", "10", f"{url}/hello.txt",
                    f"{url}/hello.txt"], capture_output=True, timeout=20)
t.check("two requests on one connection",
        r.stdout == b"hello through hvproxy\n" * 2, repr(r.stdout[:200]))

n_conns = 1 + 1 + 1 + 8 + 1
ok = p.wait_log(r"conn fwd=\S+ peer=tcp:127\.0\.0\.1:\d+ "
                r"target=tcp:127\.0\.0\.1:%d up=\d+ down=\d+ "
                r"duration=[0-9.]+s end=done" % web_port, count=n_conns)
t.check(f"-v logs one line per connection ({n_conns}, end=done)", ok,
        p.log()[-2000:])

ms = wait_for(lambda: (lambda m: m if metric(
    m, "hvproxy_connections_open", forward=f"tcp:127.0.0.1:{lp}") == 0
    else None)(metrics(mp)), 10)
fwd = f"tcp:127.0.0.1:{lp}"
t.check("metrics: connections_total counts every connection",
        ms and metric(ms, "hvproxy_connections_total", forward=fwd) ==
        n_conns, str(ms and metric(ms, "hvproxy_connections_total",
                                   forward=fwd)))
down = ms and metric(ms, "hvproxy_bytes_total", forward=fwd,
                     direction="down")
t.check("metrics: bytes down cover the 9 copies of big.bin plus headers",
        down is not None and 9 * len(big) < down < 9 * len(big) + 20000,
        str(down))
t.check("hvproxy exits 0 on SIGTERM", p.stop() == 0, p.log()[-1000:])
web.stop(5)
t.done()
