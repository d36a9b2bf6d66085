/*
 * sender_login.c - sender_login_map: which logins may use a sender
 * address beyond their own (Postfix's smtpd_sender_login_maps, as a
 * text file). One entry a line:
 *
 *	sales@example.org	alice@example.org, bob@example.org
 *	@example.net		carol@example.org
 *
 * The key is an address or "@domain" (every address of the domain);
 * the owners are logins (canonical user@domain), separated by commas or
 * blanks. Blank lines and "#" comments are skipped. Keys and owners are
 * compared without regard to case.
 *
 * Runs in resolverd as resolver_user: the file is read when first
 * needed and again when its modification time or size changes (one
 * stat(2) a second at most). Its text comes from the administrator, but
 * is still bounded: SENDER_LOGIN_FILE_MAX bytes, SENDER_LOGIN_MAX
 * entries, ADDR_MAX per name. A file that cannot be read or parsed
 * leaves the previous table in force, logged once per change; with no
 * previous table, lookups fail temporarily (451, never a wrong 553).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "evloop.h"
#include "fsutil.h"
#include "log.h"
#include "resolverd.h"

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

static int
add_entry(struct sender_login *sl, const char *key, const char *owner)
{
	struct sender_login_entry *v;

	if (sl->n == SENDER_LOGIN_MAX)
		return -1;
	if (sl->n == sl->cap) {
		size_t cap = sl->cap ? sl->cap * 2 : 16;

		if ((v = reallocarray(sl->v, cap, sizeof(*v))) == NULL)
			return -1;
		sl->v = v;
		sl->cap = cap;
	}
	strlcpy(sl->v[sl->n].key, key, sizeof(sl->v[sl->n].key));
	strlcpy(sl->v[sl->n].owner, owner, sizeof(sl->v[sl->n].owner));
	addr_lower(sl->v[sl->n].key);
	addr_lower(sl->v[sl->n].owner);
	sl->n++;
	return 0;
}

/* A key: "local@domain" or "@domain". */
static int
key_ok(const char *key)
{
	struct mailaddr a;

	if (key[0] == '@')
		return addr_valid_domain(key + 1);
	return addr_parse(key, &a, 1) == 0;
}

int
sender_login_parse(const char *text, size_t len, struct sender_login *sl,
    char *err, size_t errlen)
{
	char		 line[4096], key[ADDR_MAX + 1], owner[ADDR_MAX + 1];
	const char	*p = text, *end = text + len, *nl;
	struct mailaddr	 a;
	size_t		 n, lineno = 0, i;
	int		 owners;

	memset(sl, 0, sizeof(*sl));
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL) {
			snprintf(err, errlen, "line %zu: too long or holds a "
			    "NUL byte", lineno);
			goto bad;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		if ((i = strcspn(line, "#")) < n)
			line[i] = '\0';
		i = 0;
		while (is_blank(line[i]))
			i++;
		if (line[i] == '\0' || line[i] == '\r')
			continue;
		n = strcspn(line + i, " \t\r");
		if (n > ADDR_MAX) {
			snprintf(err, errlen, "line %zu: key too long", lineno);
			goto bad;
		}
		memcpy(key, line + i, n);
		key[n] = '\0';
		if (!key_ok(key)) {
			snprintf(err, errlen, "line %zu: \"%s\" is neither an "
			    "address nor @domain", lineno, key);
			goto bad;
		}
		i += n;
		owners = 0;
		for (;;) {
			while (is_blank(line[i]) || line[i] == '\r')
				i++;
			if (line[i] == '\0')
				break;
			n = strcspn(line + i, " \t\r,");
			if (n > ADDR_MAX) {
				snprintf(err, errlen, "line %zu: owner too "
				    "long", lineno);
				goto bad;
			}
			memcpy(owner, line + i, n);
			owner[n] = '\0';
			i += n;
			if (addr_parse(owner, &a, 1) == -1) {
				snprintf(err, errlen, "line %zu: owner \"%s\" "
				    "is not a login (user@domain)", lineno,
				    owner);
				goto bad;
			}
			if (add_entry(sl, key, owner) == -1) {
				snprintf(err, errlen, "line %zu: more than %d "
				    "entries, or out of memory", lineno,
				    SENDER_LOGIN_MAX);
				goto bad;
			}
			owners++;
		}
		if (owners == 0) {
			snprintf(err, errlen, "line %zu: \"%s\" has no owner",
			    lineno, key);
			goto bad;
		}
	}
	return 0;
bad:
	sender_login_free(sl);
	return -1;
}

void
sender_login_free(struct sender_login *sl)
{
	free(sl->v);
	memset(sl, 0, sizeof(*sl));
}

int
sender_login_match(const struct sender_login *sl, const char *addr,
    const char *login)
{
	const char	*at = strrchr(addr, '@');
	size_t		 i;

	for (i = 0; i < sl->n; i++) {
		if (strcasecmp(sl->v[i].owner, login) != 0)
			continue;
		if (strcasecmp(sl->v[i].key, addr) == 0 ||
		    (sl->v[i].key[0] == '@' && at != NULL &&
		    strcasecmp(sl->v[i].key + 1, at + 1) == 0))
			return 1;
	}
	return 0;
}

/* Reads path into a fresh table: 0, or -1 with err. */
static int
load(const char *path, struct sender_login *sl, char *err, size_t errlen)
{
	char	*text;
	size_t	 len;
	char	 perr[256];
	int	 rc;

	if (fs_read_file(path, SENDER_LOGIN_FILE_MAX, &text, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "too large" : strerror(errno));
		return -1;
	}
	rc = sender_login_parse(text, len, sl, perr, sizeof(perr));
	free(text);
	if (rc == -1)
		snprintf(err, errlen, "%s: %s", path, perr);
	return rc;
}

int
sender_login_refresh(struct sender_login_file *f, const char *path)
{
	struct sender_login	 sl;
	struct stat		 st;
	uint64_t		 now = evloop_now_ms();
	char			 err[512];

	if (path[0] == '\0')
		return 0;
	if (f->loaded && now - f->checked_ms < 1000)
		return 0;
	f->checked_ms = now;
	if (stat(path, &st) == -1) {
		if (!f->failed_logged)
			log_warn("sender_login_map %s", path);
		f->failed_logged = 1;
		return f->loaded ? 0 : -1;
	}
	if (f->loaded && st.st_mtim.tv_sec == f->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == f->mtime.tv_nsec && st.st_size == f->size)
		return 0;
	if (load(path, &sl, err, sizeof(err)) == -1) {
		if (!f->failed_logged)
			log_warnx("sender_login_map: %s%s", err, f->loaded ?
			    "; the previous entries stay in force" : "");
		f->failed_logged = 1;
		return f->loaded ? 0 : -1;
	}
	sender_login_free(&f->table);
	f->table = sl;
	f->loaded = 1;
	f->failed_logged = 0;
	f->mtime = st.st_mtim;
	f->size = st.st_size;
	log_info("sender_login_map %s: %zu entries", path, sl.n);
	return 0;
}
