#!/bin/sh
# SPDX-License-Identifier: MIT
# Format the C sources with the checked-in .clang-format, or with --check
# only report files that differ (CI).
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
if [ "${1:-}" = "--check" ]; then
	# shellcheck disable=SC2086
	clang-format --dry-run -Werror $files
else
	# shellcheck disable=SC2086
	clang-format -i $files
fi
