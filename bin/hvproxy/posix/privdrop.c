/* SPDX-License-Identifier: MIT */
/*
 * --user USER[:GROUP]: give up root once every listener is bound, and
 * say so when that leaves a file behind at exit.
 *
 * Order matters: supplementary groups, then the group, then the user
 * (after setuid() the others can no longer be changed), and a check that
 * root cannot be had back.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvproxy.h"

/* The uid given up to, once hvp_priv_drop() has changed user. */
static int dropped;
static uid_t dropped_uid;

struct who {
	uid_t uid;
	gid_t gid;
	char name[256]; /* for initgroups(); empty if the uid has no entry */
};

static int
resolve(const char *spec, struct who *w, char *why, size_t whysize)
{
	char user[256];
	const char *colon = strchr(spec, ':');
	const char *group = colon != NULL ? colon + 1 : NULL;
	size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	uint64_t v;
	struct passwd *pw;
	int have_gid = 0;

	if (ulen == 0 || ulen >= sizeof(user)) {
		snprintf(why, whysize, "'%s': expected USER or USER:GROUP",
		    spec);
		return -1;
	}
	memcpy(user, spec, ulen);
	user[ulen] = '\0';
	memset(w, 0, sizeof(*w));

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL &&
	    hvc_parse_uint(user, 0, 0xFFFFFFFEu, &v, NULL, 0) == 0) {
		pw = getpwuid((uid_t)v);
		if (pw == NULL) {
			w->uid = (uid_t)v;
		}
	} else if (pw == NULL) {
		snprintf(why, whysize, "no such user '%s'", user);
		return -1;
	}
	if (pw != NULL) {
		w->uid = pw->pw_uid;
		w->gid = pw->pw_gid;
		snprintf(w->name, sizeof(w->name), "%s", pw->pw_name);
		have_gid = 1;
	}

	if (group != NULL) {
		struct group *gr;

		if (*group == '\0') {
			snprintf(why, whysize,
			    "'%s': the group after ':' is "
			    "missing",
			    spec);
			return -1;
		}
		gr = getgrnam(group);
		if (gr != NULL) {
			w->gid = gr->gr_gid;
		} else if (hvc_parse_uint(group, 0, 0xFFFFFFFEu, &v, NULL, 0) ==
		    0) {
			w->gid = (gid_t)v;
		} else {
			snprintf(why, whysize, "no such group '%s'", group);
			return -1;
		}
		have_gid = 1;
	}
	if (!have_gid) {
		snprintf(why, whysize,
		    "uid %s has no passwd entry: give a "
		    "group too (USER:GROUP)",
		    user);
		return -1;
	}
	return 0;
}

int
hvp_priv_check(const char *spec, char *why, size_t whysize)
{
	struct who w;

	return resolve(spec, &w, why, whysize);
}

int
hvp_priv_drop(const char *spec)
{
	char why[512];
	struct who w;

	if (resolve(spec, &w, why, sizeof(why)) != 0) {
		hvp_err("--user: %s", why);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == w.uid && getegid() == w.gid) {
			return 0;
		}
		hvp_err("--user %s: only root can change user (running as "
			"uid %u)",
		    spec, (unsigned)geteuid());
		return -1;
	}
	if (w.name[0] != '\0' && initgroups(w.name, w.gid) != 0) {
		hvp_err("--user %s: initgroups: %s", spec, strerror(errno));
		return -1;
	}
	if (w.name[0] == '\0' && setgroups(1, &w.gid) != 0) {
		hvp_err("--user %s: setgroups: %s", spec, strerror(errno));
		return -1;
	}
	if (setgid(w.gid) != 0) {
		hvp_err("--user %s: setgid(%u): %s", spec, (unsigned)w.gid,
		    strerror(errno));
		return -1;
	}
	if (setuid(w.uid) != 0) {
		hvp_err("--user %s: setuid(%u): %s", spec, (unsigned)w.uid,
		    strerror(errno));
		return -1;
	}
	/* A setuid() that left a saved root uid would be worthless. */
	if (w.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		hvp_err("--user %s: root privileges could be regained; "
			"stopping",
		    spec);
		return -1;
	}
	dropped = 1;
	dropped_uid = w.uid;
	hvp_info("running as uid %u gid %u", (unsigned)getuid(),
	    (unsigned)getgid());
	return 0;
}

void
hvp_left_behind(const char *what, const char *path, int err, const char *then)
{
	if (dropped && (err == EACCES || err == EPERM)) {
		hvp_warn("cannot remove %s (%s): %s (after --user, uid %u may "
			 "not remove files from its folder); %s",
		    path, what, strerror(err), (unsigned)dropped_uid, then);
	} else {
		hvp_warn("cannot remove %s (%s): %s; %s", path, what,
		    strerror(err), then);
	}
}
