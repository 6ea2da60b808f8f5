/* SPDX-License-Identifier: MIT */
/*
 * errno -> HVS_E*: one table for every platform's C runtime (the POSIX
 * layer uses it for everything, the Windows one for CRT errors beside its
 * own WSA* table).
 */
#include <errno.h>

#include "internal.h"

int
hvs__translate_errno(int e)
{
	switch (e) {
	case 0:
		return 0;
	case EPERM:
		return HVS_EPERM;
	case ENOENT:
		return HVS_ENOENT;
	case EINTR:
		return HVS_EINTR;
	case EIO:
		return HVS_EIO;
	case ENXIO:
		return HVS_ENXIO;
	case EBADF:
		return HVS_EBADF;
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		return HVS_EAGAIN;
	case ENOMEM:
		return HVS_ENOMEM;
	case EACCES:
		return HVS_EACCES;
	case EEXIST:
		return HVS_EEXIST;
	case ENODEV:
		return HVS_ENODEV;
	case ENOTDIR:
		return HVS_ENOTDIR;
	case EINVAL:
	case EFAULT:
		return HVS_EINVAL;
	case ENFILE:
		return HVS_ENFILE;
	case EMFILE:
		return HVS_EMFILE;
	case EPIPE:
		return HVS_EPIPE;
	case ENAMETOOLONG:
		return HVS_ENAMETOOLONG;
	case ENOSYS:
		return HVS_ENOSYS;
	case ENOTSOCK:
		return HVS_ENOTSOCK;
	case EPROTOTYPE:
		return HVS_EPROTOTYPE;
	case ENOPROTOOPT:
		return HVS_ENOPROTOOPT;
	case EPROTONOSUPPORT:
		return HVS_EPROTONOSUPPORT;
	case EOPNOTSUPP:
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
	case ENOTSUP:
#endif
		return HVS_ENOTSUP;
	case EAFNOSUPPORT:
		return HVS_EAFNOSUPPORT;
	case EADDRINUSE:
		return HVS_EADDRINUSE;
	case EADDRNOTAVAIL:
		return HVS_EADDRNOTAVAIL;
	case ENETDOWN:
		return HVS_ENETDOWN;
	case ENETUNREACH:
		return HVS_ENETUNREACH;
	case ECONNABORTED:
		return HVS_ECONNABORTED;
	case ECONNRESET:
		return HVS_ECONNRESET;
	case ENOBUFS:
		return HVS_ENOBUFS;
	case EISCONN:
		return HVS_EISCONN;
	case ENOTCONN:
		return HVS_ENOTCONN;
	case ETIMEDOUT:
		return HVS_ETIMEDOUT;
	case ECONNREFUSED:
		return HVS_ECONNREFUSED;
#ifdef EHOSTDOWN
	case EHOSTDOWN:
		return HVS_EHOSTDOWN;
#endif
	case EHOSTUNREACH:
		return HVS_EHOSTUNREACH;
	case EALREADY:
		return HVS_EALREADY;
	case EINPROGRESS:
		return HVS_EINPROGRESS;
	case ECANCELED:
		return HVS_ECANCELED;
	default:
		/* Kept, so that its text is not lost (HVS_ESYS()). */
		return e > 0 && e < HVS_ESYS_BASE ? HVS_ESYS(e) : HVS_EUNKNOWN;
	}
}
