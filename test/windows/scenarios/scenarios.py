# SPDX-License-Identifier: MIT
"""The commands of docs/windows.md, "Host and guest scenarios", as the
scenario tests read them, and the one mapping of a guest's address to
what the emulated guest partition uses.

THE DOCUMENT'S MARKING
In that section every indented line (four blanks) is a command that
starts with a prompt naming its side:

    PS>        Windows (hvcat.exe, hvproxy.exe)
    wsl$       a WSL2 distribution (Linux: hvcat, hvproxy)
    linux$     a Linux guest of Hyper-V
    freebsd$   a FreeBSD guest of Hyper-V

An indented line without one of these prompts is an error (the section
must stay unambiguous). The commands of one indented block make one
flow: a service, the forwards to it, the clients; "### " headings name
the scenarios. Placeholders: VMID (the guest's VM id), and the port
numbers themselves (5000, 8080), which a test maps to ports of its own.

THE GUEST'S ADDRESSES ON THE EMULATION
A guest's transport carries vsock: and hvsock: addresses as Hyper-V
sockets: Linux's hv_sock, FreeBSD's AF_HYPERV. guest_equiv() turns a
guest command's address into the Hyper-V socket address that the guest
partition of the emulation (test/windows/hvemu) opens in its place, by
the library's own mapping between the two (docs/platforms.md: parent =
CID 2, wildcard = CID any; a port is its template service GUID), and
refuses what such a guest cannot do, as the library there does:

    connect  vsock:PORT, vsock:2:PORT, vsock:host:PORT  hvsock:parent:PORT
             hvsock:PORT, hvsock:parent:PORT            hvsock:parent:PORT
    listen   vsock:PORT, vsock:any:PORT                 hvsock:wildcard:PORT
             hvsock:PORT, hvsock:wildcard:PORT          hvsock:wildcard:PORT
             hvsock:parent:PORT (FreeBSD only)          hvsock:parent:PORT
    either   tcp:..., unix:...                          unchanged

A template service GUID stands for its port; another CID, VM id or
service is an error (ValueError), as it would be in the guest.
"""
import re
import shlex

SECTION = "Host and guest scenarios"
PROMPTS = {"PS> ": "windows", "wsl$ ": "wsl", "linux$ ": "linux",
           "freebsd$ ": "freebsd"}
GUESTS = ("wsl", "linux", "freebsd")
TEMPLATE_TAIL = "-facb-11e6-bd58-64006a7986d3"


class Command:
    """One command of the section: .side ("windows", "wsl", "linux",
    "freebsd"), .text (as written, without the prompt), .argv."""

    def __init__(self, side, text):
        self.side = side
        self.text = text
        self.argv = shlex.split(text)

    def __repr__(self):
        return f"{self.side}: {self.text}"


class Block:
    """The commands of one indented block, under the heading .title."""

    def __init__(self, title):
        self.title = title
        self.commands = []


def section(doc):
    """The text of the section in @doc (the document's text): from its
    heading to the next heading of the same level."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line == SECTION and i + 1 < len(lines) and \
                re.fullmatch(r"-{3,}", lines[i + 1]):
            end = len(lines)
            for j in range(i + 2, len(lines) - 1):
                if re.fullmatch(r"-{3,}", lines[j + 1]) and lines[j]:
                    end = j
                    break
            return "\n".join(lines[i + 2:end])
    raise ValueError(f"no section {SECTION!r}")


def blocks(text):
    """The indented blocks of the section @text, in order. ValueError for
    an indented line without a known prompt."""
    out = []
    title = ""
    cur = None
    for line in text.splitlines():
        if line.startswith("### "):
            title = line[4:].strip()
        if not line.startswith("    "):
            if line.strip():
                cur = None
            continue
        body = line[4:]
        for prompt, side in PROMPTS.items():
            if body.startswith(prompt):
                break
        else:
            raise ValueError(f"an indented line without a prompt: {line!r}")
        if cur is None:
            cur = Block(title)
            out.append(cur)
        cur.commands.append(Command(side, body[len(prompt):]))
    return out


def service_port(service):
    """The port of SERVICE: a decimal port, or a template service GUID
    (its first field, in hex). ValueError otherwise."""
    if re.fullmatch(r"[0-9]+", service):
        return int(service)
    m = re.fullmatch(r"([0-9a-fA-F]{8})" + TEMPLATE_TAIL, service.lower())
    if m:
        return int(m.group(1), 16)
    raise ValueError(f"service {service!r} is not a port nor a template "
                     "GUID: Linux and FreeBSD guests use those only")


def guest_equiv(addr, role, system):
    """The Hyper-V socket address (or the tcp/unix address unchanged) that
    the guest partition of the emulation opens for the guest's address
    @addr; @role is "listen" or "connect", @system "linux" or "freebsd"
    (WSL2 is Linux). ValueError for what the guest cannot do."""
    scheme, _, rest = addr.partition(":")
    if scheme in ("tcp", "unix"):
        return addr
    if scheme == "vsock":
        cid, _, port = rest.rpartition(":")
        cid = cid.lower()
        if not re.fullmatch(r"[0-9]+", port):
            raise ValueError(f"{addr}: bad port")
        if role == "connect":
            if cid not in ("", "2", "host"):
                raise ValueError(f"{addr}: under Hyper-V a guest connects "
                                 "to CID 2 (the host) only")
            return f"hvsock:parent:{int(port)}"
        if cid not in ("", "any", "4294967295"):
            raise ValueError(f"{addr}: a Hyper-V guest has no CID: listen "
                             "on CID any")
        return f"hvsock:wildcard:{int(port)}"
    if scheme == "hvsock":
        vmid, _, service = rest.rpartition(":")
        vmid = vmid.lower()
        port = service_port(service)
        if role == "connect":
            if vmid not in ("", "parent"):
                raise ValueError(f"{addr}: a guest connects to its host "
                                 "(parent) only")
            return f"hvsock:parent:{port}"
        allowed = ("", "wildcard", "parent") if system == "freebsd" \
            else ("", "wildcard")
        if vmid not in allowed:
            raise ValueError(f"{addr}: a {system} guest listens on "
                             f"{' or '.join(a for a in allowed if a)} only")
        return f"hvsock:{vmid or 'wildcard'}:{port}"
    raise ValueError(f"{addr}: not an address of the scenarios")


def system_of(side):
    """The guest's system for a side: WSL2 runs Linux."""
    return "freebsd" if side == "freebsd" else "linux"


def roles(cmd):
    """[(index in argv, address, role)] for the addresses of a command of
    the scenarios: hvproxy LISTEN TARGET pairs; hvcat [-l] ADDRESS.
    ValueError for any other form (an option the scenarios do not use:
    the test must learn it first)."""
    prog = cmd.argv[0].lower()
    args = cmd.argv[1:]
    if prog in ("hvproxy", "hvproxy.exe"):
        if not args or len(args) % 2 or any(a.startswith("-")
                                             for a in args):
            raise ValueError(f"{cmd}: not hvproxy LISTEN TARGET...")
        return [(i + 1, a, "listen" if i % 2 == 0 else "connect")
                for i, a in enumerate(args)]
    if prog in ("hvcat", "hvcat.exe"):
        if len(args) == 2 and args[0] == "-l":
            return [(2, args[1], "listen")]
        if len(args) == 1 and not args[0].startswith("-"):
            return [(1, args[0], "connect")]
    raise ValueError(f"{cmd}: not a form the scenario tests know")


def register_port(cmd):
    """N for `hvcat.exe --register N`, else None."""
    a = cmd.argv
    if len(a) == 3 and a[0].lower() == "hvcat.exe" and a[1] == "--register":
        return int(a[2])
    return None


def addr_port(addr):
    """The port number written at the end of an address."""
    return int(re.search(r"([0-9]+)$", addr).group(1))


def with_port(addr, port):
    """@addr with the port number at its end replaced by @port."""
    return re.sub(r"[0-9]+$", str(port), addr)
