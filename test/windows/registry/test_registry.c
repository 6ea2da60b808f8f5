/* SPDX-License-Identifier: MIT */
/*
 * registry-units: common/registry.h on Windows (under wine), in the
 * prefix's real registry: register, rename, read, list and remove a
 * service; the refusals a prompt without administrator rights meets
 * (made by regfail.c, since wine runs everything as an administrator)
 * leave the registry as it was, a key whose ElementName cannot be set is
 * removed again; keys Windows names in upper case are found and listed;
 * and hvproxy's start-up check of a listener (hvc_reg_listener_check)
 * for a registered and an unregistered service, and for addresses it
 * must not judge.
 *
 * The services are of ports and a GUID no one else uses (derived from
 * the process id), removed at the start and at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <windows.h>

#include "common/registry.h"

static hvs_guid_t svc_port; /* a template GUID: port svc_portnum */
static uint32_t svc_portnum;
static hvs_guid_t svc_other; /* not of the template */
static char why[512];

static void
fail_none(void)
{
	_putenv("HVTEST_REG_FAIL=");
}

static void
fail_with(const char *what)
{
	char v[64];

	snprintf(v, sizeof(v), "HVTEST_REG_FAIL=%s", what);
	_putenv(v);
}

static void
cleanup(void)
{
	fail_none();
	hvc_reg_remove(&svc_port, why, sizeof(why));
	hvc_reg_remove(&svc_other, why, sizeof(why));
}

static int
setup(void **state)
{
	char s[HVS_GUID_STRLEN];
	DWORD pid = GetCurrentProcessId();

	(void)state;
	svc_portnum = 0x7ff00000u | (pid & 0xfffffu);
	assert_int_equal(hvs_service_from_port(&svc_port, svc_portnum), 0);
	snprintf(s, sizeof(s), "%08lx-7e57-4e9a-8a1b-0000c0ffee00",
	    (unsigned long)pid);
	assert_int_equal(hvs_guid_parse(&svc_other, s, strlen(s)), 0);
	cleanup();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

/* The name @g is registered with, asserting that it is. */
static const char *
name_of(const hvs_guid_t *g)
{
	static char name[HVC_REG_NAME_SIZE];

	assert_int_equal(hvc_reg_get(g, name, sizeof(name), why, sizeof(why)),
	    HVC_REG_OK);
	return name;
}

/* The entry of @g in the list, or NULL. */
static int
listed(const hvs_guid_t *g, char *name, size_t size)
{
	struct hvc_reg_entry *v;
	size_t n;
	int found = 0;

	assert_int_equal(hvc_reg_list(&v, &n, why, sizeof(why)), HVC_REG_OK);
	for (size_t i = 0; i < n; i++) {
		if (hvs_guid_equal(&v[i].guid, g)) {
			snprintf(name, size, "%s", v[i].name);
			found++;
		}
	}
	free(v);
	assert_true(found <= 1);
	return found;
}

static void
test_round_trip(void **state)
{
	char name[HVC_REG_NAME_SIZE];
	int existed = -1;

	(void)state;
	assert_int_equal(hvc_reg_get(&svc_port, NULL, 0, why, sizeof(why)),
	    HVC_REG_ABSENT);
	assert_int_equal(hvc_reg_add(&svc_port, "hvtest one", &existed, why,
			     sizeof(why)),
	    HVC_REG_OK);
	assert_int_equal(existed, 0);
	assert_string_equal(name_of(&svc_port), "hvtest one");
	/* Again: the same key, renamed. */
	assert_int_equal(hvc_reg_add(&svc_port, "hvtest two", &existed, why,
			     sizeof(why)),
	    HVC_REG_OK);
	assert_int_equal(existed, 1);
	assert_string_equal(name_of(&svc_port), "hvtest two");
	assert_int_equal(listed(&svc_port, name, sizeof(name)), 1);
	assert_string_equal(name, "hvtest two");

	assert_int_equal(hvc_reg_remove(&svc_port, why, sizeof(why)),
	    HVC_REG_OK);
	assert_int_equal(hvc_reg_get(&svc_port, NULL, 0, why, sizeof(why)),
	    HVC_REG_ABSENT);
	assert_int_equal(listed(&svc_port, name, sizeof(name)), 0);
	assert_int_equal(hvc_reg_remove(&svc_port, why, sizeof(why)),
	    HVC_REG_ABSENT);
}

static void
test_other_guid(void **state)
{
	char name[HVC_REG_NAME_SIZE];
	int existed;

	(void)state;
	hvc_reg_default_name(&svc_other, name, sizeof(name));
	assert_string_equal(name, "hvcat service");
	assert_int_equal(hvc_reg_add(&svc_other, name, &existed, why,
			     sizeof(why)),
	    HVC_REG_OK);
	assert_int_equal(listed(&svc_other, name, sizeof(name)), 1);
	assert_string_equal(name, "hvcat service");
	assert_int_equal(hvc_reg_remove(&svc_other, why, sizeof(why)),
	    HVC_REG_OK);
}

/* Not elevated: RegCreateKeyExW refused; nothing is written. */
static void
test_create_denied(void **state)
{
	int existed = -1;

	(void)state;
	fail_with("create");
	assert_int_equal(hvc_reg_add(&svc_port, "x", &existed, why,
			     sizeof(why)),
	    HVC_REG_DENIED);
	assert_int_equal(existed, 0);
	fail_none();
	assert_int_equal(hvc_reg_get(&svc_port, NULL, 0, why, sizeof(why)),
	    HVC_REG_ABSENT);
	assert_string_equal(hvc_reg_strerror(HVC_REG_DENIED),
	    "administrator rights are needed: run from an elevated prompt");
}

/* The key is made but its value cannot be set: the key goes again. */
static void
test_set_fails_new_key(void **state)
{
	int existed;

	(void)state;
	fail_with("set");
	assert_int_equal(hvc_reg_add(&svc_port, "x", &existed, why,
			     sizeof(why)),
	    HVC_REG_DENIED);
	fail_none();
	assert_int_equal(hvc_reg_get(&svc_port, NULL, 0, why, sizeof(why)),
	    HVC_REG_ABSENT);

	why[0] = '\0';
	fail_with("setio");
	assert_int_equal(hvc_reg_add(&svc_port, "x", &existed, why,
			     sizeof(why)),
	    HVC_REG_FAILED);
	fail_none();
	assert_non_null(strstr(why, "cannot set ElementName"));
	assert_non_null(strstr(why, "(error 8)"));
	assert_int_equal(hvc_reg_get(&svc_port, NULL, 0, why, sizeof(why)),
	    HVC_REG_ABSENT);
}

/* A registration that was there stays, with its name. */
static void
test_set_fails_existing_key(void **state)
{
	int existed;

	(void)state;
	assert_int_equal(hvc_reg_add(&svc_port, "keep me", &existed, why,
			     sizeof(why)),
	    HVC_REG_OK);
	fail_with("set");
	assert_int_equal(hvc_reg_add(&svc_port, "new name", &existed, why,
			     sizeof(why)),
	    HVC_REG_DENIED);
	assert_int_equal(existed, 1);
	fail_none();
	assert_string_equal(name_of(&svc_port), "keep me");
}

/* Removing without the rights: refused, still registered. */
static void
test_remove_denied(void **state)
{
	int existed;

	(void)state;
	assert_int_equal(hvc_reg_add(&svc_port, "stays", &existed, why,
			     sizeof(why)),
	    HVC_REG_OK);
	fail_with("delete");
	assert_int_equal(hvc_reg_remove(&svc_port, why, sizeof(why)),
	    HVC_REG_DENIED);
	/* Not registered is said first, whatever the rights. */
	assert_int_equal(hvc_reg_remove(&svc_other, why, sizeof(why)),
	    HVC_REG_ABSENT);
	fail_none();
	assert_string_equal(name_of(&svc_port), "stays");
}

/* A key made by hand: upper-case GUID, no ElementName; and a key whose
 * name is no GUID, which the list leaves out. */
static void
test_keys_by_hand(void **state)
{
	char s[HVS_GUID_STRLEN], name[HVC_REG_NAME_SIZE];
	WCHAR path[300];
	HKEY k;
	size_t n0, n1;
	struct hvc_reg_entry *v;
	int len;

	(void)state;
	hvs_guid_format(&svc_other, s);
	for (char *p = s; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'f') {
			*p = (char)(*p - 'a' + 'A');
		}
	}
	len = swprintf(path, 300, L"%ls\\%hs", L"" HVC_REG_KEY, s);
	assert_true(len > 0);
	assert_int_equal(RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0,
			     KEY_ALL_ACCESS | KEY_WOW64_64KEY, NULL, &k, NULL),
	    ERROR_SUCCESS);
	RegCloseKey(k);
	assert_int_equal(hvc_reg_get(&svc_other, name, sizeof(name), why,
			     sizeof(why)),
	    HVC_REG_OK);
	assert_string_equal(name, "");
	assert_int_equal(listed(&svc_other, name, sizeof(name)), 1);
	assert_string_equal(name, "");

	assert_int_equal(hvc_reg_list(&v, &n0, why, sizeof(why)), HVC_REG_OK);
	free(v);
	len = swprintf(path, 300, L"%ls\\hvtest-not-a-guid-%lu",
	    L"" HVC_REG_KEY, (unsigned long)GetCurrentProcessId());
	assert_true(len > 0);
	assert_int_equal(RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0,
			     KEY_ALL_ACCESS | KEY_WOW64_64KEY, NULL, &k, NULL),
	    ERROR_SUCCESS);
	RegCloseKey(k);
	assert_int_equal(hvc_reg_list(&v, &n1, why, sizeof(why)), HVC_REG_OK);
	free(v);
	assert_int_equal(RegDeleteKeyExW(HKEY_LOCAL_MACHINE, path,
			     KEY_WOW64_64KEY, 0),
	    ERROR_SUCCESS);
	assert_int_equal(n1, n0);

	/* Removed by its lower-case name. */
	assert_int_equal(hvc_reg_remove(&svc_other, why, sizeof(why)),
	    HVC_REG_OK);
	assert_int_equal(hvc_reg_get(&svc_other, NULL, 0, why, sizeof(why)),
	    HVC_REG_ABSENT);
}

static void
parse(hvs_addr_t *a, const char *s)
{
	assert_int_equal(hvs_addr_parse_str(a, s, HVS_ROLE_LISTEN, NULL), 0);
}

/* hvproxy's start-up check: the warning, word for word. */
static void
test_listener_check(void **state)
{
	char msg[256], want[256], addr[128], g[HVS_GUID_STRLEN];
	hvs_addr_t a;
	int existed;

	(void)state;
	hvs_guid_format(&svc_port, g);
	snprintf(addr, sizeof(addr), "hvsock:wildcard:%u",
	    (unsigned)svc_portnum);
	parse(&a, addr);
	assert_int_equal(hvc_reg_listener_check(&a, msg, sizeof(msg)), 1);
	snprintf(want, sizeof(want),
	    "service GUID %s (port %u) is not registered: guests cannot "
	    "connect; run: hvcat --register %u (as administrator)",
	    g, (unsigned)svc_portnum, (unsigned)svc_portnum);
	assert_string_equal(msg, want);
	/* The same service by its GUID, for the children of this host. */
	snprintf(addr, sizeof(addr), "hvsock:children:%s", g);
	parse(&a, addr);
	assert_int_equal(hvc_reg_listener_check(&a, msg, sizeof(msg)), 1);
	assert_string_equal(msg, want);

	assert_int_equal(hvc_reg_add(&svc_port, "x", &existed, why,
			     sizeof(why)),
	    HVC_REG_OK);
	assert_int_equal(hvc_reg_listener_check(&a, msg, sizeof(msg)), 0);

	hvs_guid_format(&svc_other, g);
	snprintf(addr, sizeof(addr), "hvsock:wildcard:%s", g);
	parse(&a, addr);
	assert_int_equal(hvc_reg_listener_check(&a, msg, sizeof(msg)), 1);
	snprintf(want, sizeof(want),
	    "service GUID %s is not registered: guests cannot connect; "
	    "run: hvcat --register %s (as administrator)",
	    g, g);
	assert_string_equal(msg, want);

	/* Not judged: tcp, and the WSL2 VM. */
	parse(&a, "tcp:127.0.0.1:5000");
	assert_int_equal(hvc_reg_listener_check(&a, msg, sizeof(msg)), 0);
	snprintf(addr, sizeof(addr), "hvsock:wsl:%u",
	    (unsigned)(svc_portnum + 1));
	parse(&a, addr);
	assert_int_equal(hvc_reg_listener_check(&a, msg, sizeof(msg)), 0);
}

static void
test_names(void **state)
{
	char name[64], big[HVC_REG_NAME_MAX + 2];

	(void)state;
	hvc_reg_default_name(&svc_port, name, sizeof(name));
	snprintf(big, sizeof(big), "hvcat vsock port %u",
	    (unsigned)svc_portnum);
	assert_string_equal(name, big);
	assert_int_equal(hvc_reg_name_check("build agent", why, sizeof(why)),
	    0);
	assert_int_equal(hvc_reg_name_check("", why, sizeof(why)), -1);
	assert_string_equal(why, "the name is empty");
	assert_int_equal(hvc_reg_name_check("a\tb", why, sizeof(why)), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hvc_reg_name_check(big, why, sizeof(why)), -1);
	big[HVC_REG_NAME_MAX] = '\0';
	assert_int_equal(hvc_reg_name_check(big, why, sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_guid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_denied, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_set_fails_new_key, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_set_fails_existing_key, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_remove_denied, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_keys_by_hand, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listener_check, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
