/* SPDX-License-Identifier: MIT */
/*
 * hvs-echo: the Windows test programs' echo. Copies standard input to
 * standard output byte for byte (binary mode: no CR/LF translation, NUL
 * bytes kept) until end of input, then exits with STATUS (0 if not
 * given). hvcat -e runs it with the connection as its stdin and stdout.
 *
 *   hvs-echo [STATUS]
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	static char buf[65536];
	int status = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: hvs-echo [STATUS]\n");
		return 2;
	}
	if (argc == 2) {
		char *end;
		long v = strtol(argv[1], &end, 10);

		if (end == argv[1] || *end != '\0' || v < 0 || v > 255) {
			fprintf(stderr,
			    "hvs-echo: bad status '%s': expected a number "
			    "from 0 to 255\n",
			    argv[1]);
			return 2;
		}
		status = (int)v;
	}
	if (_setmode(0, _O_BINARY) == -1 || _setmode(1, _O_BINARY) == -1) {
		fprintf(stderr, "hvs-echo: cannot set binary mode\n");
		return 1;
	}
	for (;;) {
		int n = _read(0, buf, sizeof(buf));

		if (n == 0) {
			break;
		}
		if (n < 0) {
			fprintf(stderr, "hvs-echo: read error on stdin\n");
			return 1;
		}
		for (int off = 0; off < n;) {
			int w = _write(1, buf + off, (unsigned)(n - off));

			if (w <= 0) {
				fprintf(stderr,
				    "hvs-echo: write error on stdout\n");
				return 1;
			}
			off += w;
		}
	}
	return status;
}
