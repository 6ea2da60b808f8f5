/* SPDX-License-Identifier: MIT */
/*
 * Error codes: names, messages and the translation of system errors. All
 * three come from HVS_ERRNO_MAP so that they cannot drift apart; a system
 * error the list has no code for is carried as HVS_ESYS() and described
 * by the system.
 */
#include <stdio.h>
#include <string.h>

#include <hvsock/hvsock.h>

#ifdef _WIN32
/*
 * The family missing on Windows is AF_HYPERV (or AF_UNIX), and the remedy
 * is not a kernel module but a newer Windows.
 */
#define AFNOSUPPORT_TEXT                                                      \
	"address family not supported (Hyper-V sockets need Windows 10 1607 " \
	"or later with Hyper-V or WSL2; unix sockets need Windows 10 1803)"
#endif

/*
 * The system's text for @e, in a buffer of this thread's that stays valid
 * until the thread's next call. strerror() itself will not do: glibc
 * builds the text of an errno it does not know ("Unknown error 300") in
 * a buffer that the next strerror() call frees, so a pointer returned
 * earlier would dangle, and other C libraries share one buffer between
 * threads.
 */
static const char *
sys_text(int e)
{
	static _Thread_local char buf[128];

#if defined(_WIN32)
	if (strerror_s(buf, sizeof(buf), e) != 0) {
		snprintf(buf, sizeof(buf), "system error %d", e);
	}
#elif defined(__GLIBC__) && defined(_GNU_SOURCE)
	/* GNU strerror_r(): the static text of a known errno, or @buf. */
	return strerror_r(e, buf, sizeof(buf));
#else
	if (strerror_r(e, buf, sizeof(buf)) != 0) {
		snprintf(buf, sizeof(buf), "system error %d", e);
	}
#endif
	return buf;
}

const char *
hvs_strerror(int err)
{
#ifdef AFNOSUPPORT_TEXT
	if (err == HVS_EAFNOSUPPORT) {
		return AFNOSUPPORT_TEXT;
	}
#endif
	switch (err) {
	case 0:
		return "success";
#define HVS__ERR_MSG(name, num, msg) \
	case HVS_##name:             \
		return msg;
		HVS_ERRNO_MAP(HVS__ERR_MSG)
#undef HVS__ERR_MSG
	default:
		if (HVS_IS_ESYS(err)) {
			return sys_text(HVS_ESYS_ERRNO(err));
		}
		return "unknown error";
	}
}

const char *
hvs_err_name(int err)
{
	switch (err) {
	case 0:
		return "OK";
#define HVS__ERR_NAME(name, num, msg) \
	case HVS_##name:              \
		return #name;
		HVS_ERRNO_MAP(HVS__ERR_NAME)
#undef HVS__ERR_NAME
	default:
		return HVS_IS_ESYS(err) ? "ESYS" : "UNKNOWN";
	}
}
