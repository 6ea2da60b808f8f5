/* SPDX-License-Identifier: MIT */
/*
 * Registry failures on demand (regfail.c): the calls it wraps, for
 * meson.build's -Wl,--wrap=__imp_<call>, are RegCreateKeyExW,
 * RegSetValueExW and RegOpenKeyExW.
 */
#ifndef HVTEST_REGFAIL_H
#define HVTEST_REGFAIL_H

/* 1 if $HVTEST_REG_FAIL names @what ("create", "set", ...). */
int regfail_on(const char *what);

#endif /* HVTEST_REGFAIL_H */
