/* SPDX-License-Identifier: MIT */
/*
 * event-config.h for x86_64-w64-mingw32, so that hvproxy's Windows-only
 * code (bin/hvproxy/wsl.c) can be compiled (-fsyntax-only) against
 * Debian's libevent headers in the cross build. Debian ships no libevent
 * for mingw; the values are those libevent 2.1's own CMake build writes
 * for a 64-bit mingw-w64 target. Used by .ci/cross-build.sh only.
 */
#ifndef EVENT2_EVENT_CONFIG_H_INCLUDED_
#define EVENT2_EVENT_CONFIG_H_INCLUDED_

#define EVENT__NUMERIC_VERSION 0x02010c00
#define EVENT__VERSION "2.1.12-stable"

#define EVENT__HAVE_ERRNO_H 1
#define EVENT__HAVE_GETADDRINFO 1
#define EVENT__HAVE_INTTYPES_H 1
#define EVENT__HAVE_STDDEF_H 1
#define EVENT__HAVE_STDINT_H 1
#define EVENT__HAVE_STRUCT_ADDRINFO 1
#define EVENT__HAVE_STRUCT_SOCKADDR_STORAGE_SS_FAMILY 1
#define EVENT__HAVE_SYS_TYPES_H 1
#define EVENT__HAVE_UINT16_T 1
#define EVENT__HAVE_UINT32_T 1
#define EVENT__HAVE_UINT64_T 1
#define EVENT__HAVE_UINT8_T 1
#define EVENT__HAVE_UINTPTR_T 1

#define EVENT__SIZEOF_INT 4
#define EVENT__SIZEOF_LONG 4
#define EVENT__SIZEOF_LONG_LONG 8
#define EVENT__SIZEOF_OFF_T 4
#define EVENT__SIZEOF_SHORT 2
#define EVENT__SIZEOF_SIZE_T 8
#define EVENT__SIZEOF_VOID_P 8

#endif
