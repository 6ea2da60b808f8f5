/* SPDX-License-Identifier: MIT */
/*
 * libhvsock — one socket API for Hyper-V sockets and vsock.
 *
 * AF_HYPERV (Windows, FreeBSD), AF_VSOCK over hv_sock (Linux guests under
 * Hyper-V) and plain AF_VSOCK (KVM, Firecracker, VMware, ...) behind one
 * address grammar and one set of socket calls, plus tcp and unix sockets so
 * that tools can bridge any of them.
 *
 * Conventions (c-ares / libuv style):
 *  - every function that can fail returns 0 on success or a negative HVS_E*
 *    code; hvs_strerror() and hvs_err_name() describe it;
 *  - a function that takes a socket owns it only if it succeeds;
 *  - the library never prints and never exits: it logs through the callback
 *    set with hvs_set_log();
 *  - every socket the library creates is close-on-exec and never raises
 *    SIGPIPE.
 *
 * The libevent-based event loop and relay engine are in <hvsock/loop.h>.
 *
 * ABI promise (this header and <hvsock/loop.h>): the soname libhvsock.so.N
 * carries an ABI number, not the release version. Every release that
 * breaks the ABI bumps N: a function removed or its parameters or return
 * type changed, a field added to, removed from or moved in a public
 * struct, a constant's value changed. Releases that only add (functions,
 * error codes) keep N, so a program built against an earlier release
 * with the same N runs unchanged. From 1.0 on N is the major version
 * (semantic versioning). Set up the option structs the caller allocates
 * with their *_init() function (hvs_sockopts_init(), ...), never by
 * hand, so that a rebuild against a newer header fills in its new fields.
 */
#ifndef HVSOCK_HVSOCK_H
#define HVSOCK_HVSOCK_H

#include <stddef.h>
#include <stdint.h>

#include <hvsock/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(HVS_BUILDING_DLL)
#define HVS_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define HVS_EXPORT __attribute__((visibility("default")))
#else
#define HVS_EXPORT
#endif

/* ------------------------------------------------------------------------
 * Errors
 *
 * One list generates the codes, hvs_strerror() and hvs_err_name(). The
 * numbers are the library's own and stable across platforms: system errors
 * (errno, WSA) are translated into them, so a caller tests for
 * HVS_ECONNREFUSED on every platform alike.
 *
 * Two codes say that the platform cannot serve an address at all:
 * HVS_EHV_UNAVAILABLE comes from FreeBSD only, when the kernel has no
 * AF_HYPERV (it attaches the family only when it runs under Hyper-V;
 * where the family is missing on Linux or Windows the code is
 * HVS_EAFNOSUPPORT, as before), and HVS_EUNIX_ABSTRACT from every system
 * but Linux for a unix:@NAME address.
 *
 * The "wsl" VM id of an address (Windows only) fails with the code of what
 * wsl.exe said: HVS_EWSL_MISSING (no wsl.exe, or its --list fails),
 * HVS_EWSL_STOPPED (no distribution runs, and none is started for it),
 * HVS_EWSL1, HVS_EWSL_VMID (wslinfo gave no id) or HVS_EWSL_TIMEOUT.
 *
 * A vsock-mux: connect fails with HVS_EMUX_REFUSED when the VMM closes the
 * connection instead of answering (nothing listens on the guest port),
 * HVS_EMUX_ANSWER when its answer is not `OK <port>`, and HVS_ETIMEDOUT
 * when the handshake does not finish in time; listening on such an
 * address gives HVS_EMUX_LISTEN.
 * ---------------------------------------------------------------------- */
// clang-format off
#define HVS_ERRNO_MAP(XX)                                                     \
	/* system errors, translated from errno / WSAGetLastError() */        \
	XX(EPERM, 1, "operation not permitted")                               \
	XX(ENOENT, 2, "no such file or directory")                            \
	XX(EINTR, 4, "interrupted system call")                               \
	XX(EIO, 5, "i/o error")                                               \
	XX(ENXIO, 6, "no such device or address")                             \
	XX(EBADF, 9, "bad file descriptor")                                   \
	XX(EAGAIN, 11, "resource temporarily unavailable")                    \
	XX(ENOMEM, 12, "not enough memory")                                   \
	XX(EACCES, 13, "permission denied")                                   \
	XX(EEXIST, 17, "file already exists")                                 \
	XX(ENODEV, 19, "no such device")                                      \
	XX(ENOTDIR, 20, "not a directory")                                    \
	XX(EINVAL, 22, "invalid argument")                                    \
	XX(ENFILE, 23, "file table overflow")                                 \
	XX(EMFILE, 24, "too many open files")                                 \
	XX(EPIPE, 32, "broken pipe")                                          \
	XX(ENAMETOOLONG, 36, "name too long")                                 \
	XX(ENOSYS, 38, "function not implemented")                            \
	XX(ENOTSOCK, 88, "socket operation on non-socket")                    \
	XX(EPROTOTYPE, 91, "protocol wrong type for socket")                  \
	XX(ENOPROTOOPT, 92, "protocol not available")                         \
	XX(EPROTONOSUPPORT, 93, "protocol not supported")                     \
	XX(ENOTSUP, 95, "operation not supported")                            \
	XX(EAFNOSUPPORT, 97,                                                  \
	    "address family not supported (is the vsock/hv_sock module "      \
	    "loaded?)")                                                       \
	XX(EADDRINUSE, 98, "address already in use")                          \
	XX(EADDRNOTAVAIL, 99, "address not available")                        \
	XX(ENETDOWN, 100, "network is down")                                  \
	XX(ENETUNREACH, 101, "network is unreachable")                        \
	XX(ECONNABORTED, 103, "connection aborted")                           \
	XX(ECONNRESET, 104, "connection reset by peer")                       \
	XX(ENOBUFS, 105, "no buffer space available")                         \
	XX(EISCONN, 106, "socket is already connected")                       \
	XX(ENOTCONN, 107, "socket is not connected")                          \
	XX(ETIMEDOUT, 110, "connection timed out")                            \
	XX(ECONNREFUSED, 111, "connection refused")                           \
	XX(EHOSTDOWN, 112, "host is down")                                    \
	XX(EHOSTUNREACH, 113, "host is unreachable")                          \
	XX(EALREADY, 114, "operation already in progress")                    \
	XX(EINPROGRESS, 115, "operation in progress")                         \
	XX(ECANCELED, 125, "operation canceled")                              \
	/* library errors */                                                  \
	XX(EUNKNOWN, 4000, "unknown system error")                            \
	XX(EOF, 4001, "end of file")                                          \
	XX(EADDR_EMPTY, 4100, "address is empty")                             \
	XX(EADDR_TOOLONG, 4101, "address is too long")                        \
	XX(EADDR_NUL, 4102, "address contains a NUL byte")                    \
	XX(EADDR_SCHEME, 4103,                                                \
	    "unknown address kind (expected vsock:, hvsock:, vsock-mux:, "    \
	    "tcp:, unix:, fd: or stdio)")                                     \
	XX(EADDR_PORT, 4104, "bad port number")                               \
	XX(EADDR_PORT_RANGE, 4105, "port number out of range")                \
	XX(EADDR_CID, 4106,                                                   \
	    "bad CID (expected a number, any, local, host or hypervisor)")    \
	XX(EADDR_HOST, 4107, "bad host name or IP address")                   \
	XX(EADDR_GUID, 4108,                                                  \
	    "bad GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")       \
	XX(EADDR_VMID, 4109,                                                  \
	    "bad VM id (expected a GUID, wildcard, children, loopback, "      \
	    "parent, silohost, broadcast or wsl)")                            \
	XX(EADDR_SERVICE, 4110,                                               \
	    "bad service (expected a port number or a service GUID)")         \
	XX(EADDR_PATH, 4111, "bad unix socket path")                          \
	XX(EADDR_PATH_TOOLONG, 4112, "unix socket path is too long")          \
	XX(EADDR_FD, 4113, "bad file descriptor number")                      \
	XX(EADDR_TRAILING, 4114, "unexpected text after the address")         \
	XX(EADDR_MISSING, 4115, "a part of the address is missing")           \
	XX(EADDR_KIND, 4116, "operation not possible on this kind of "        \
	    "address")                                                        \
	XX(EADDR_RESOLVE, 4117, "host name could not be resolved")            \
	XX(ESERVICE_NOT_TEMPLATE, 4200,                                       \
	    "service GUID is not a vsock template GUID "                      \
	    "(xxxxxxxx-facb-11e6-bd58-64006a7986d3); only those map to "      \
	    "vsock ports on this platform")                                   \
	XX(EHV_CID, 4201,                                                     \
	    "under Hyper-V (hv_sock) a guest can only connect to CID 2, the " \
	    "host")                                                           \
	XX(ENOCID, 4202, "this machine has no vsock CID")                     \
	XX(EVMID_UNSUPPORTED, 4203,                                           \
	    "this VM id cannot be used on this platform")                     \
	XX(EPLATFORM, 4204, "not supported on this platform")                 \
	XX(EWSL_VMID, 4205, "the WSL VM id could not be found (`wsl.exe -- "  \
	    "wslinfo --vm-id` needs WSL 2.0 or later)")                       \
	XX(EWINSOCK, 4206, "Windows Sockets could not be started "            \
	    "(WSAStartup failed)")                                            \
	XX(EHV_UNAVAILABLE, 4207,                                             \
	    "Hyper-V sockets are not available: FreeBSD must run under "      \
	    "Hyper-V")                                                        \
	XX(EUNIX_ABSTRACT, 4208,                                              \
	    "abstract unix sockets (unix:@NAME) exist only on Linux")         \
	XX(EWSL_MISSING, 4209, "WSL is not installed (wsl.exe in the system " \
	    "directory is missing or fails)")                                 \
	XX(EWSL_STOPPED, 4210, "WSL is not running (no running "              \
	    "distribution): start a WSL2 distribution first")                 \
	XX(EWSL1, 4211, "the WSL distribution runs under WSL1, which has no " \
	    "VM (the wsl VM id needs WSL2)")                                  \
	XX(EWSL_TIMEOUT, 4212, "wsl.exe did not answer in time")           \
	XX(EMUX_REFUSED, 4213, "the VMM closed the connection without an "    \
	    "OK (nothing listens on that guest port, or the VMM refused it)") \
	XX(EMUX_ANSWER, 4214, "the VMM did not answer CONNECT with "          \
	    "`OK <port>` (garbage, or no newline within 64 bytes)")           \
	XX(EMUX_LISTEN, 4215, "a vsock-mux: address cannot listen: listen "   \
	    "on unix:PATH_PORT for connections from the guest")
// clang-format on

/** Error codes: 0 is success, every error is negative. */
typedef enum hvs_errno {
	HVS_OK = 0,
#define HVS__ERR_ENUM(name, num, msg) HVS_##name = -(num),
	HVS_ERRNO_MAP(HVS__ERR_ENUM)
#undef HVS__ERR_ENUM
} hvs_errno_t;

/*
 * A system error that the list has no code for (ENOSPC, EISDIR, ...) is
 * not lost in HVS_EUNKNOWN: hvs_translate_sys_error() carries its number
 * as HVS_ESYS(number), a code below every code of the list, for which
 * hvs_strerror() gives the system's own text (strerror()) and
 * hvs_err_name() "ESYS". Such a code means what the system's number
 * means, so it is only as portable as that: test for one with
 * HVS_IS_ESYS() and get the number back with HVS_ESYS_ERRNO().
 */
#define HVS_ESYS_BASE 100000
#define HVS_ESYS(e) (-(HVS_ESYS_BASE + (e)))
#define HVS_IS_ESYS(err) ((err) < -HVS_ESYS_BASE && (err) > -2 * HVS_ESYS_BASE)
#define HVS_ESYS_ERRNO(err) (-HVS_ESYS_BASE - (err))

/**
 * hvs_strerror() - a one-line, human-readable description of @err.
 * Returns a static string; unknown codes give "unknown error". For an
 * HVS_ESYS() code it is the C library's text for the number (as
 * strerror() gives it), in a buffer of the calling thread's that the
 * thread's next hvs_strerror() of such a code may overwrite.
 */
HVS_EXPORT const char *hvs_strerror(int err);

/**
 * hvs_err_name() - the symbolic name of @err without the prefix, e.g.
 * "ECONNREFUSED"; "ESYS" for an HVS_ESYS() code. Returns a static string;
 * "UNKNOWN" for unknown codes.
 */
HVS_EXPORT const char *hvs_err_name(int err);

/**
 * hvs_translate_sys_error() - map a platform error number (errno on POSIX,
 * a WSA* code on Windows) to a negative HVS_E* code.
 * Returns that code: 0 for 0, HVS_ESYS(sys_errno) for an error number the
 * list has no code for, or HVS_EUNKNOWN for a number out of range.
 */
HVS_EXPORT int hvs_translate_sys_error(int sys_errno);

/* ------------------------------------------------------------------------
 * Version
 * ---------------------------------------------------------------------- */

/**
 * hvs_version() - the running library's version.
 * Returns a static string "MAJOR.MINOR.PATCH"; compare with HVS_VERSION.
 */
HVS_EXPORT const char *hvs_version(void);
/**
 * hvs_version_number() - the running library's version as a number.
 * Returns it as HVS_VERSION_NUMBER would encode it.
 */
HVS_EXPORT unsigned hvs_version_number(void);

/* ------------------------------------------------------------------------
 * Logging
 *
 * The library never writes to stdout/stderr. Set a callback to see what it
 * has to say; without one, messages are dropped.
 * ---------------------------------------------------------------------- */
typedef enum hvs_log_level {
	HVS_LOG_ERROR = 0,
	HVS_LOG_WARN = 1,
	HVS_LOG_INFO = 2,
	HVS_LOG_DEBUG = 3,
} hvs_log_level_t;

typedef void (
    *hvs_log_fn)(hvs_log_level_t level, const char *msg, void *userdata);

/**
 * hvs_set_log() - route library messages up to @max_level to @fn.
 * @fn may be NULL to silence the library. Not thread-safe against
 * concurrent logging; set it once at start-up.
 */
HVS_EXPORT void hvs_set_log(hvs_log_fn fn, hvs_log_level_t max_level,
    void *userdata);

/* ------------------------------------------------------------------------
 * GUIDs (Hyper-V VM ids and service ids)
 * ---------------------------------------------------------------------- */

/** A GUID in the Windows field layout (Data1..Data4), host byte order. */
typedef struct hvs_guid {
	uint32_t data1;
	uint16_t data2;
	uint16_t data3;
	uint8_t data4[8];
} hvs_guid_t;

/** Buffer size for hvs_guid_format(): 36 characters + NUL. */
#define HVS_GUID_STRLEN 37

/**
 * hvs_guid_parse() - parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", any
 * case, optionally in braces. @len is the length of @str (a NUL inside it
 * is an error). Returns 0 or HVS_EADDR_GUID.
 */
HVS_EXPORT int hvs_guid_parse(hvs_guid_t *out, const char *str, size_t len);

/** hvs_guid_format() - lower-case, no braces; @buf holds HVS_GUID_STRLEN. */
HVS_EXPORT void hvs_guid_format(const hvs_guid_t *guid,
    char buf[HVS_GUID_STRLEN]);

/** hvs_guid_equal() - returns 1 if @a and @b are the same GUID, else 0. */
HVS_EXPORT int hvs_guid_equal(const hvs_guid_t *a, const hvs_guid_t *b);

/**
 * hvs_wsl_parse_vmid() - the WSL2 utility VM's id in the output of
 * `wsl.exe -- wslinfo --vm-id` (@len bytes at @buf, UTF-8 or UTF-16LE,
 * with or without a byte-order mark): the first whitespace-separated word
 * that is a GUID, braces allowed, not all zeros. For programs that run
 * wslinfo themselves (hvproxy does, from its event loop); the "wsl" VM id
 * of an address does the same on Windows. Returns 0, HVS_EWSL1 if there
 * is none and the first word is "wsl1" (what wslinfo prints in a WSL1
 * distribution), HVS_EWSL_VMID if there is none otherwise, or HVS_EINVAL
 * for NULL arguments.
 */
HVS_EXPORT int hvs_wsl_parse_vmid(const char *buf, size_t len, hvs_guid_t *out);

/** Largest port that maps to a service GUID (Data1 of the template). */
#define HVS_SERVICE_PORT_MAX 0x7FFFFFFFu

/**
 * hvs_service_from_port() - the service GUID that Linux hv_sock, FreeBSD
 * hvsock and Windows use for vsock port @port:
 * PORT-facb-11e6-bd58-64006a7986d3. Returns 0 or HVS_EADDR_PORT_RANGE
 * for ports above HVS_SERVICE_PORT_MAX.
 */
HVS_EXPORT int hvs_service_from_port(hvs_guid_t *out, uint32_t port);

/**
 * hvs_service_to_port() - the vsock port of a template service GUID.
 * Returns 0, or HVS_ESERVICE_NOT_TEMPLATE if @guid is not of the
 * template, or HVS_EADDR_PORT_RANGE if its Data1 is above
 * HVS_SERVICE_PORT_MAX.
 */
HVS_EXPORT int hvs_service_to_port(const hvs_guid_t *guid, uint32_t *port);

/** Well-known Hyper-V VM ids. */
typedef enum hvs_vmid_name {
	HVS_VMID_WILDCARD = 0,
	HVS_VMID_BROADCAST,
	HVS_VMID_CHILDREN,
	HVS_VMID_LOOPBACK,
	HVS_VMID_PARENT,
	HVS_VMID_SILOHOST,
	HVS_VMID__COUNT
} hvs_vmid_name_t;

/**
 * hvs_vmid_get() - the GUID of a well-known VM id.
 * Returns a pointer to a static GUID, or NULL if @name is out of range.
 */
HVS_EXPORT const hvs_guid_t *hvs_vmid_get(hvs_vmid_name_t name);

/**
 * hvs_vmid_name() - the well-known name ("parent", ...) of @guid.
 * Returns a static string, or NULL if @guid is none of them (or NULL).
 */
HVS_EXPORT const char *hvs_vmid_name(const hvs_guid_t *guid);

/* ------------------------------------------------------------------------
 * Addresses
 *
 *   vsock:[CID:]PORT        CID: number | any | local | host | hypervisor
 *   hvsock:[VMID:]SERVICE   VMID: GUID | wildcard | children | loopback |
 *                           parent | silohost | broadcast | wsl
 *                           SERVICE: GUID | PORT
 *   tcp:[HOST:]PORT         HOST: name, IPv4, [IPv6], * (all interfaces)
 *   unix:PATH               unix:@name is the Linux abstract namespace
 *                           (elsewhere opening one: HVS_EUNIX_ABSTRACT)
 *   vsock-mux:PATH:PORT     hybrid vsock (Firecracker, Cloud Hypervisor,
 *                           vhost-device-vsock, libkrun): the guest's
 *                           vsock PORT (0..4294967294) through the VMM's
 *                           unix socket PATH (a file path, everything up
 *                           to the last ':'). Connect only: the library
 *                           connects to PATH, writes `CONNECT PORT\n` and
 *                           reads the VMM's `OK <hostport>\n`; after that
 *                           the socket is an ordinary unix stream. A guest
 *                           reaches host port P through the VMM, which
 *                           connects to unix:PATH_P: listen there.
 *   fd:N                    an inherited socket (e.g. from systemd)
 *   stdio                   standard input and output (tools only)
 *
 * Defaults depend on the role: a listening vsock: binds CID any and a
 * listening tcp: binds 127.0.0.1 only; a connecting vsock: goes to CID 2
 * (the host) and a connecting tcp: to localhost; hvsock: listens on
 * wildcard and connects to parent.
 * ---------------------------------------------------------------------- */

typedef enum hvs_addr_kind {
	HVS_ADDR_NONE = 0,
	HVS_ADDR_VSOCK,
	HVS_ADDR_HVSOCK,
	HVS_ADDR_TCP,
	HVS_ADDR_UNIX,
	HVS_ADDR_FD,
	HVS_ADDR_STDIO,
	HVS_ADDR_VSOCK_MUX, /* vsock-mux:PATH:PORT, connect only */
} hvs_addr_kind_t;

typedef enum hvs_role {
	HVS_ROLE_LISTEN = 1,
	HVS_ROLE_CONNECT = 2,
} hvs_role_t;

#define HVS_CID_HYPERVISOR 0u
#define HVS_CID_LOCAL 1u
#define HVS_CID_HOST 2u
#define HVS_CID_ANY 0xFFFFFFFFu
#define HVS_PORT_ANY 0xFFFFFFFFu
/*
 * The port of a peer the system cannot name (the same number as
 * HVS_PORT_ANY). FreeBSD's driver does not know the port a connecting
 * host used: hvs_accept() and hvs_sock_peer_addr() give such a peer as
 * hvsock:parent with the template service GUID of this port,
 * ffffffff-facb-11e6-bd58-64006a7986d3 (hvs_addr_port_unknown() says 1).
 * hvs_addr_format() writes that GUID, which parses back to the same
 * address; it is not one to connect to, and a log line should say
 * "port unknown" rather than show it (hvcat and hvproxy write
 * hvsock:parent:unknown).
 */
#define HVS_PORT_UNKNOWN 0xFFFFFFFFu

/** Longest accepted address string, in bytes. */
#define HVS_ADDR_MAXLEN 1024
/** Buffer size that always holds hvs_addr_format()'s output. */
#define HVS_ADDR_STRLEN 1040
/** Longest host name (DNS limit) + NUL. */
#define HVS_HOST_MAX 256
/** Longest unix socket path + NUL (Linux sun_path is 108 bytes). */
#define HVS_PATH_MAX 108

/** hvs_addr.u.hvsock.vm_flags: the VM id is a name resolved when used. */
#define HVS_VMID_F_WSL 0x1u

/**
 * One address of any kind. A plain value: copy it freely; it owns no
 * resources. Fill it with hvs_addr_parse() or the hvs_addr_* setters.
 */
typedef struct hvs_addr {
	hvs_addr_kind_t kind;
	union {
		struct {
			uint32_t cid;
			uint32_t port;
		} vsock;
		struct {
			hvs_guid_t vm_id;
			hvs_guid_t service_id;
			unsigned vm_flags; /* HVS_VMID_F_* */
		} hvsock;
		struct {
			/* Name or numeric IP without brackets; "*" = all. */
			char host[HVS_HOST_MAX];
			uint16_t port;
		} tcp;
		struct {
			/* Without the leading '@' for abstract names. */
			char path[HVS_PATH_MAX];
			/* Length of path (abstract names may hold NULs). */
			size_t len;
			int abstract;
		} local;
		struct {
			int fd;
		} fd;
		struct {
			/* The VMM's unix socket: a file path, a C string. */
			char path[HVS_PATH_MAX];
			/* Length of path. */
			size_t len;
			/* The guest's vsock port (never HVS_PORT_ANY). */
			uint32_t port;
		} mux;
	} u;
} hvs_addr_t;

/** Where a parse went wrong: the error and the bad part of the input. */
typedef struct hvs_parse_error {
	int code; /* HVS_EADDR_* or HVS_EMUX_LISTEN: the return value */
	size_t offset; /* byte offset of the bad part in the input */
	size_t length; /* its length (0 when something is missing) */
} hvs_parse_error_t;

/**
 * hvs_addr_parse() - parse one address of the grammar above.
 * @out:  filled on success, untouched on failure.
 * @str:  the text; need not be NUL-terminated.
 * @len:  its length in bytes; a NUL byte within it is an error.
 * @role: which defaults apply (HVS_ROLE_LISTEN or HVS_ROLE_CONNECT).
 * @err:  optional; on failure says which part of @str is bad.
 *
 * Parsing is strict: out-of-range numbers, unknown names, trailing text and
 * over-long input are errors, never silently defaulted. Host names are not
 * resolved here.
 * Returns 0; a negative HVS_EADDR_* code; HVS_EMUX_LISTEN for a vsock-mux:
 * address in the listen role (both also in @err->code); or
 * HVS_EINVAL for a NULL @out, a NULL @str with a non-zero @len, or a bad
 * @role.
 */
HVS_EXPORT int hvs_addr_parse(hvs_addr_t *out, const char *str, size_t len,
    hvs_role_t role, hvs_parse_error_t *err);

/**
 * hvs_addr_parse_str() - hvs_addr_parse() for a NUL-terminated string.
 * Returns as hvs_addr_parse().
 */
HVS_EXPORT int hvs_addr_parse_str(hvs_addr_t *out, const char *str,
    hvs_role_t role, hvs_parse_error_t *err);

/**
 * hvs_addr_format() - write @addr in the grammar above to @buf (at most
 * @size bytes including the NUL; HVS_ADDR_STRLEN always suffices). The
 * result parses back to the same address in either role (a vsock-mux:
 * address in the connect role: it cannot listen).
 * Returns the length written (without NUL), or HVS_ENOBUFS if @size is too
 * small (then @buf holds a truncated, NUL-terminated string), or
 * HVS_EINVAL for an address of no known kind.
 */
HVS_EXPORT int hvs_addr_format(const hvs_addr_t *addr, char *buf, size_t size);

/**
 * hvs_addr_check() - whether this platform can open @addr for @role at
 * all, judged from the address alone: no system call, nothing opened,
 * no name looked up. For a configuration check that should fail early
 * rather than when a socket is opened. Returns 0, HVS_EINVAL (NULL, a bad
 * role or kind), or the error hvs_listen() / hvs_connect() would give
 * for the address: HVS_EUNIX_ABSTRACT for unix:@NAME anywhere but Linux;
 * HVS_EMUX_LISTEN for vsock-mux: in HVS_ROLE_LISTEN;
 * on FreeBSD HVS_EHV_CID, HVS_EADDRNOTAVAIL, HVS_EVMID_UNSUPPORTED,
 * HVS_EADDR_PORT_RANGE or HVS_ESERVICE_NOT_TEMPLATE for the vsock: and
 * hvsock: endpoints a guest cannot use (logged with the reason). Linux and
 * Windows judge vsock: and hvsock: addresses only when a socket is
 * opened (0 here).
 */
HVS_EXPORT int hvs_addr_check(const hvs_addr_t *addr, hvs_role_t role);

/**
 * hvs_addr_port_unknown() - whether @addr is a peer whose port the system
 * does not know: an hvsock: address whose service is the template GUID
 * of HVS_PORT_UNKNOWN (FreeBSD's accepted connections).
 * Returns 1 if so, else 0.
 */
HVS_EXPORT int hvs_addr_port_unknown(const hvs_addr_t *addr);

/** hvs_addr_equal() - returns 1 if @a and @b are the same address, else 0. */
HVS_EXPORT int hvs_addr_equal(const hvs_addr_t *a, const hvs_addr_t *b);

/**
 * hvs_addr_kind_name() - the name of an address kind.
 * Returns a static string: "none", "vsock", "hvsock", "tcp", "unix",
 * "fd", "stdio", "vsock-mux", or "unknown" for a value of no kind.
 */
HVS_EXPORT const char *hvs_addr_kind_name(hvs_addr_kind_t kind);

/** hvs_addr_vsock() - set @out to vsock:CID:PORT. */
HVS_EXPORT void hvs_addr_vsock(hvs_addr_t *out, uint32_t cid, uint32_t port);

/**
 * hvs_addr_service_port() - the port a vsock: or hvsock: address stands for
 * (the vsock port, or the port of a template service GUID), for printing
 * the service GUID users must register. Returns 0, HVS_EADDR_KIND, or
 * HVS_ESERVICE_NOT_TEMPLATE.
 */
HVS_EXPORT int hvs_addr_service_port(const hvs_addr_t *addr, uint32_t *port);

/* ------------------------------------------------------------------------
 * Sockets
 * ---------------------------------------------------------------------- */

#ifdef _WIN32
typedef uintptr_t hvs_sock_t; /* a SOCKET */
#define HVS_INVALID_SOCK ((hvs_sock_t) ~(uintptr_t)0)
#else
typedef int hvs_sock_t;
#define HVS_INVALID_SOCK (-1)
#endif

/** hvs_sockopts.flags */
#define HVS_SOCK_NONBLOCK 0x1u /* return the socket non-blocking */
#define HVS_SOCK_IPV4_ONLY 0x2u /* tcp: resolve to IPv4 only (-4) */
#define HVS_SOCK_IPV6_ONLY 0x4u /* tcp: resolve to IPv6 only (-6) */
#define HVS_SOCK_NO_REUSEADDR 0x8u /* tcp listen: no SO_REUSEADDR */
/* unix listen: remove a stale socket file first. Never a live one (a
 * program listens on it: HVS_EADDRINUSE) nor a file that is not a socket
 * (HVS_EEXIST). */
#define HVS_SOCK_UNLINK 0x10u

/**
 * Options applied when a socket is made, before connect() or listen() (the
 * only time hv_sock honours buffer sizes). Zero means "platform default";
 * start from hvs_sockopts_init().
 */
typedef struct hvs_sockopts {
	unsigned flags; /* HVS_SOCK_* */
	int sndbuf; /* SO_SNDBUF in bytes, 0 = default */
	int rcvbuf; /* SO_RCVBUF in bytes, 0 = default */
	int backlog; /* listen backlog, 0 = SOMAXCONN */
	/* Connect timeout in ms. 0 = the platform's default (Linux vsock:
	 * 2 s; tcp: the kernel's SYN retries; vsock-mux: 10 s for the
	 * connect, the CONNECT line and the VMM's answer together), < 0 =
	 * wait as long as the platform allows (Windows caps it at 300 s). A
	 * NULL hvs_sockopts_t means all defaults. */
	int timeout_ms;
} hvs_sockopts_t;

/** hvs_sockopts_init() - all defaults. */
HVS_EXPORT void hvs_sockopts_init(hvs_sockopts_t *opts);

/**
 * hvs_listen() - open a socket for @addr, apply @opts, bind and listen.
 * For fd: addresses the inherited socket is checked to be a listening
 * stream socket and taken over (made close-on-exec).
 * @out receives the socket; the caller owns it (hvs_close()).
 * @opts may be NULL for defaults.
 * Returns 0 or a negative HVS_E* code (HVS_EADDR_KIND for stdio,
 * HVS_EMUX_LISTEN for vsock-mux:).
 */
HVS_EXPORT int hvs_listen(hvs_sock_t *out, const hvs_addr_t *addr,
    const hvs_sockopts_t *opts);

/**
 * hvs_accept() - accept one connection from @lsock (retrying EINTR).
 * @out receives the new socket (close-on-exec, blocking unless
 * HVS_SOCK_NONBLOCK is in @flags); @peer, if not NULL, its address.
 * Returns 0, HVS_EAGAIN on a non-blocking socket with nothing pending,
 * or a negative HVS_E* code.
 */
HVS_EXPORT int hvs_accept(hvs_sock_t lsock, hvs_sock_t *out, hvs_addr_t *peer,
    unsigned flags);

/**
 * hvs_connect() - open a socket and connect it to @addr, waiting at most
 * @opts->timeout_ms (native option where the platform has one, a
 * non-blocking connect and poll otherwise). Host names are resolved and
 * each resulting address tried in turn within the timeout.
 * A vsock-mux: address connects to the VMM's unix socket and does the
 * CONNECT handshake within the same timeout (0: 10 s); nothing the VMM
 * sends after its `OK` line is consumed. A missing PATH gives HVS_ENOENT,
 * one that is no socket HVS_ECONNREFUSED or HVS_ENOTSOCK (as the system
 * says), a closed connection HVS_EMUX_REFUSED, a bad answer
 * HVS_EMUX_ANSWER. The socket is then an ordinary unix stream
 * (hvs_sock_kind() says unix).
 * @out receives the connected socket; the caller owns it.
 * Returns 0 or a negative HVS_E* code (HVS_ETIMEDOUT, HVS_ECONNREFUSED,
 * HVS_EHV_CID, HVS_ESERVICE_NOT_TEMPLATE, ...).
 */
HVS_EXPORT int hvs_connect(hvs_sock_t *out, const hvs_addr_t *addr,
    const hvs_sockopts_t *opts);

/** How to shut down; the values of SHUT_RD, SHUT_WR, SHUT_RDWR. */
#define HVS_SHUT_RD 0
#define HVS_SHUT_WR 1
#define HVS_SHUT_RDWR 2

/**
 * hvs_shutdown() - shut down one or both directions of @s.
 * Note: FreeBSD's AF_HYPERV sends no FIN for HVS_SHUT_WR; only close or
 * HVS_SHUT_RDWR end the stream there.
 * Returns 0; HVS_EINVAL if @how is not HVS_SHUT_RD, HVS_SHUT_WR or
 * HVS_SHUT_RDWR; or the system's error translated (HVS_ENOTCONN for a
 * socket that is not connected, HVS_EBADF for a descriptor that is not
 * open, HVS_ENOTSOCK for one that is not a socket).
 */
HVS_EXPORT int hvs_shutdown(hvs_sock_t s, int how);

/**
 * hvs_close() - close @s (HVS_INVALID_SOCK is ignored).
 * Returns 0 (also for HVS_INVALID_SOCK, and on POSIX when close() was
 * interrupted: the descriptor is closed then too) or the system's error
 * translated, such as HVS_EBADF for a descriptor that is not open
 * (HVS_ENOTSOCK on Windows).
 */
HVS_EXPORT int hvs_close(hvs_sock_t s);

/**
 * hvs_send() - send up to @len bytes without raising SIGPIPE, retrying
 * EINTR. @sent receives the count. Returns 0, HVS_EAGAIN or an error.
 */
HVS_EXPORT int hvs_send(hvs_sock_t s, const void *buf, size_t len,
    size_t *sent);

/**
 * hvs_recv() - receive up to @len bytes, retrying EINTR. @got receives the
 * count; 0 with a return of HVS_EOF means the peer shut down its side.
 */
HVS_EXPORT int hvs_recv(hvs_sock_t s, void *buf, size_t len, size_t *got);

/**
 * hvs_set_nonblock() - make @s non-blocking (@on = 1) or blocking.
 * Returns 0 or the system's error translated, such as HVS_EBADF for a
 * descriptor that is not open (on Windows also HVS_EINVAL when making
 * blocking a socket that an event loop watches).
 */
HVS_EXPORT int hvs_set_nonblock(hvs_sock_t s, int on);

/**
 * hvs_sock_kind() - the address kind of an open socket (vsock, tcp, ...).
 * Returns 0 with *@kind set, or an error of hvs_sock_local_addr().
 */
HVS_EXPORT int hvs_sock_kind(hvs_sock_t s, hvs_addr_kind_t *kind);

/**
 * hvs_sock_local_addr() - the local address of @s as an hvs address.
 * Returns 0 with *@out set, the system's error translated (HVS_EBADF,
 * HVS_ENOTSOCK, ...), or HVS_EAFNOSUPPORT for an address family the
 * library cannot express.
 */
HVS_EXPORT int hvs_sock_local_addr(hvs_sock_t s, hvs_addr_t *out);

/**
 * hvs_sock_peer_addr() - the peer address of @s as an hvs address.
 * Returns as hvs_sock_local_addr(); HVS_ENOTCONN for a socket that is not
 * connected.
 */
HVS_EXPORT int hvs_sock_peer_addr(hvs_sock_t s, hvs_addr_t *out);

/**
 * hvs_sock_bufsizes() - read back SO_SNDBUF / SO_RCVBUF (either NULL).
 * Returns 0 or the system's error translated.
 */
HVS_EXPORT int hvs_sock_bufsizes(hvs_sock_t s, int *sndbuf, int *rcvbuf);

/**
 * hvs_local_cid() - this machine's vsock CID.
 * Returns 0, HVS_ENOCID where there is none (no vsock device, or under
 * Hyper-V's hv_sock transport, where the kernel reports 0xFFFFFFFF: a guest
 * there is addressed by its VM id, not a CID), or another error.
 */
HVS_EXPORT int hvs_local_cid(uint32_t *cid);

/**
 * hvs_transport() - which vsock transport this machine uses as a guest.
 * Returns a static string: "hyperv", "virtio", "vmci", "loopback-only"
 * or "none".
 */
HVS_EXPORT const char *hvs_transport(void);

#ifdef __cplusplus
}
#endif

#endif /* HVSOCK_HVSOCK_H */
