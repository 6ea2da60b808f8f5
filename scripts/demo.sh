#!/bin/sh
# SPDX-License-Identifier: MIT
# The live demo: install what is missing, build, and run the main job end
# to end through real AF_VSOCK inside a throw-away QEMU VM (test/vm/):
#
#   curl -> hvproxy tcp:8080 vsock:1:5000 -> [vsock] -> hvproxy vsock:5000
#        tcp:127.0.0.1:8000 -> python3 -m http.server
#   hvcat -l 5001 <- hvcat 1 5001,  and python AF_VSOCK <-> hvcat -l
#
# every byte checked by sha256. The host's own vsock is never used.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=build-demo
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Dbuildtype=release >/dev/null
fi
ninja -C "$build"
echo "=== booting the test VM (TCG, ~10 s) and running the demo"
exec test/vm/run-vm.sh --out "$build/demo" --build-dir "$(pwd)/$build" \
    --source-dir "$(pwd)" test/vm/job-demo.sh \
    "$(pwd)/$build/bin/hvcat/hvcat" "$(pwd)/$build/bin/hvproxy/hvproxy"
