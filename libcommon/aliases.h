/*
 * aliases.h - the /etc/aliases format, compiled into a Berkeley DB map.
 */
#ifndef POSTERN_ALIASES_H
#define POSTERN_ALIASES_H

#include <stddef.h>

/*
 * Reads an aliases file ("name: target, target ..." with '#' comments and
 * continuation lines that begin with white space) and builds dbpath from it
 * (map_build_*: readers never see a partial map). A name is a local part
 * ("postmaster", applies to every local domain), a full address
 * ("sales@example.test") or "@domain" (a catch-all: what nothing else in
 * that domain takes). Targets: a local part (a user of the default
 * domain), a full address, "@domain" (only in an "@domain" entry: a
 * domain alias, the same local part there), or the refused forms
 * "|command", "/file" and ":include:/path" (each reported with its line
 * and skipped unless allow_commands is set, which only admits "|command"
 * entries into the map for a later delivery agent). Keys are lowercased;
 * the value is the target list joined by ", ".
 * Every problem goes to report (error 1: a bad line; 0: a warning, such
 * as a skipped target) as "file:line: what", or to the log when report
 * is NULL. Returns the number of aliases written, or -1 after at least
 * one error: then every bad line has been reported and dbpath is left
 * as it was.
 */
int	aliases_compile(const char *srcpath, const char *dbpath,
	    int allow_commands,
	    void (*report)(int error, const char *msg, void *arg), void *arg);

/*
 * Splits one stored value into targets; calls cb for each (trimmed,
 * non-empty). Returns the count, or -1 when cb returns -1.
 */
int	aliases_split(const char *value,
	    int (*cb)(const char *target, void *arg), void *arg);

#endif
