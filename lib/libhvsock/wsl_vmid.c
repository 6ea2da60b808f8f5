/* SPDX-License-Identifier: MIT */
/*
 * The WSL2 VM id out of what `wsl.exe -- wslinfo --vm-id` printed. Portable
 * (no Windows call): the library's Windows backend runs wslinfo
 * synchronously, hvproxy runs it from its event loop, and both read the
 * answer here; the tests read it on any platform.
 */
#include <string.h>

#include "internal.h"

/*
 * wsl.exe writes its own messages in UTF-16LE and relays a Linux program's
 * output as is (UTF-8). A GUID is ASCII either way: a byte-order mark and
 * the NULs of UTF-16 are skipped.
 */
static int
skipped(const char *buf, size_t len, size_t i)
{
	static const char bom8[] = "\xEF\xBB\xBF", bom16[] = "\xFF\xFE";

	if (buf[i] == '\0') {
		return 1;
	}
	if (i < 3 && len >= 3 && memcmp(buf, bom8, 3) == 0) {
		return 1;
	}
	return i < 2 && len >= 2 && memcmp(buf, bom16, 2) == 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

int
hvs_wsl_parse_vmid(const char *buf, size_t len, hvs_guid_t *out)
{
	static const hvs_guid_t zero;
	char word[64];
	size_t n = 0;
	int words = 0, wsl1 = 0;

	if (buf == NULL || out == NULL) {
		return HVS_EINVAL;
	}
	/* The first whitespace-separated word that is a GUID. */
	for (size_t i = 0; i <= len; i++) {
		if (i < len && skipped(buf, len, i)) {
			continue;
		}
		if (i < len && !is_space(buf[i])) {
			if (n < sizeof(word)) {
				word[n] = buf[i];
			}
			n++;
			continue;
		}
		if (n > 0 && n <= sizeof(word) &&
		    hvs_guid_parse(out, word, n) == 0 &&
		    !hvs_guid_equal(out, &zero)) {
			return 0;
		}
		if (n > 0 && words++ == 0) {
			wsl1 = n == 4 && memcmp(word, "wsl1", 4) == 0;
		}
		n = 0;
	}
	/* In a WSL1 distribution wslinfo answers "wsl1" (and exits 0). */
	return wsl1 ? HVS_EWSL1 : HVS_EWSL_VMID;
}
