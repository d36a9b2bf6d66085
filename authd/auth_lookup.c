/*
 * auth_lookup.c - authd's reads of the password map and its verdicts.
 *
 * Runs in authd as auth_user. passwd.db maps "user@domain" to the
 * user's password hash (PASSWD_LOCKED before it for a locked user, ""
 * for a user without a password); only root writes it (postern user),
 * and it is 0600 auth_user: authd is the one process that reads it, and
 * it answers yes or no, never with the hash. The user names it is asked
 * about come from network clients through the login daemons: each is
 * parsed by addr_parse before it becomes a key. The map is rebuilt by
 * the CLI and renamed into place; one stat per lookup notices a rebuilt
 * one, so a changed password counts at once. A missing map is an empty
 * one; one that exists but cannot be opened makes checks fail
 * temporarily (A_AUTH_TEMPFAIL), never "wrong password".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "authd.h"
#include "fsutil.h"
#include "log.h"
#include "map.h"
#include "passwd.h"

int
auth_map_init(struct auth_map *am, const struct conf *c)
{
	memset(am, 0, sizeof(*am));
	am->conf = c;
	return fs_path(am->path, sizeof(am->path), c->map_directory,
	    "passwd.db");
}

void
auth_map_close(struct auth_map *am)
{
	map_close(am->m);
	am->m = NULL;
}

void
auth_map_refresh(struct auth_map *am)
{
	struct map *nm;

	if (am->m != NULL && !map_changed(am->m))
		return;
	if ((nm = map_open(am->path)) == NULL) {
		if (errno == ENOENT) {
			if (am->m != NULL)
				log_info("%s is gone: treating it as empty",
				    am->path);
			auth_map_close(am);
			am->broken = 0;
			return;
		}
		/* A rebuilt map we cannot read: the old one still answers. */
		if (am->m == NULL) {
			if (!am->broken)
				log_warn("open %s", am->path);
			am->broken = 1;
		} else
			log_warn("reopen %s (still using the old one)",
			    am->path);
		return;
	}
	if (am->m != NULL)
		log_info("%s changed: reopened", am->path);
	auth_map_close(am);
	am->m = nm;
	am->broken = 0;
}

/*
 * -1 for anything that cannot be a user in the map (bad syntax, a
 * domain that is not ours, a name that could not be a mailbox path), so
 * it is not even looked up.
 */
static int
auth_key(const struct conf *c, const char *user, char *key, size_t keysz)
{
	struct mailaddr	 a;
	char		 full[ADDR_MAX + 1];
	const char	*s = user;

	if (strchr(user, '@') == NULL) {
		if (snprintf(full, sizeof(full), "%s@%s", user,
		    conf_default_domain(c)) >= (int)sizeof(full))
			return -1;
		s = full;
	}
	if (addr_parse(s, &a, 0) == -1)
		return -1;
	addr_lower(a.local);
	if (!conf_is_local_domain(c, a.domain) ||
	    !addr_is_store_safe(a.local) || !addr_is_store_safe(a.domain))
		return -1;
	return addr_format(&a, key, keysz);
}

int
auth_map_lookup(struct auth_map *am, const char *user, char *key,
    size_t keysz, char *hash, size_t hashsz)
{
	int rc = 0;

	key[0] = '\0';
	hash[0] = '\0';
	if (auth_key(am->conf, user, key, keysz) == 0) {
		auth_map_refresh(am);
		if (am->m == NULL)
			rc = am->broken ? -1 : 0;
		else if ((rc = map_get(am->m, key, hash, hashsz)) == -1)
			log_warn("%s: lookup of %s", am->path, key);
	}
	if (rc == -1) {
		explicit_bzero(hash, hashsz);
		return -1;
	}
	if (rc == 0)
		key[0] = hash[0] = '\0';
	return 0;
}

int
auth_locked(const char *hash)
{
	return hash[0] == PASSWD_LOCKED;
}

uint32_t
auth_verdict(const char *key, const char *hash, const char *password)
{
	/*
	 * An unknown user leaves hash empty: passwd_verify then spends the
	 * same time on a dummy hash and says no. A locked user (postern user
	 * lock) costs the same hash and is refused whatever the password:
	 * the lock is decided here, once for every protocol, not by each
	 * login daemon.
	 */
	int match = passwd_verify(password,
	    auth_locked(hash) ? hash + 1 : hash) == 1;

	if (match && key[0] != '\0' && !auth_locked(hash))
		return A_AUTH_OK;
	return A_AUTH_FAIL;
}
