# SPDX-License-Identifier: MIT
"""Files and digests."""
import hashlib
import os


def sha256_bytes(data):
    """The sha256 of @data (bytes-like), as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    """The sha256 of the file at @path (read in 1 MiB blocks), as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def mkrand(path, size):
    """Write @size random bytes to @path (distinct everywhere, so that a
    reordering shows); returns @path."""
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


def write_config(path, text):
    """Write @text to @path (a config file for a test)."""
    with open(path, "w") as f:
        f.write(text)
