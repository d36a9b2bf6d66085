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
 * ("postmaster", applies to every local domain) or a full address
 * ("sales@example.test"). Targets: a local part, a full address, or the
 * refused forms "|command", "/file" and ":include:/path" (each reported
 * with its line and skipped unless allow_commands is set, which only
 * admits "|command" entries into the map for a later delivery agent).
 * Keys are lowercased; the value is the target list joined by ", ".
 * Returns the number of aliases written, or -1 with "file:line: what" in
 * err. Warnings (skipped targets) go to the log.
 */
int	aliases_compile(const char *srcpath, const char *dbpath,
	    int allow_commands, char *err, size_t errlen);

/*
 * Splits one stored value into targets; calls cb for each (trimmed,
 * non-empty). Returns the count, or -1 when cb returns -1.
 */
int	aliases_split(const char *value,
	    int (*cb)(const char *target, void *arg), void *arg);

#endif
