/* Delivery straight to a Windows (SMB) share with libsmbclient (see deliver.h).
 *
 * URL smb://host[:port]/share/dir; credentials file with "username = ...", "password = ...",
 * optional "domain = ..." (the smbclient -A format), which must not be readable by others.
 * One libsmbclient context is kept while deliveries succeed (creating one per file leaks inside
 * libsmbclient); after any failure it is dropped, so a share that went away and came back gets a
 * fresh connection on the next attempt. */
#include "deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ghostrec-config.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)

#ifdef GHOSTREC_HAVE_SMBCLIENT
#include <libsmbclient.h>

struct smb_target {
	struct deliver_target base;
	char host[256];
	uint16_t port;
	char display[1100];    /* the URL as given (with its :port), for messages */
	char share_path[768];  /* "share/dir" without slashes around */
	char credentials[4096];
	char user[256], password[256], domain[256];
	SMBCCTX *ctx;
};

static int read_credentials(struct smb_target *s, char *err, size_t errsize)
{
	struct stat st;
	int fd = open(s->credentials, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		SET_ERR("smb-credentials %s: %s", s->credentials, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		SET_ERR("smb-credentials %s: not a regular file", s->credentials);
		close(fd);
		return -1;
	}
	if (st.st_mode & 0077) {
		SET_ERR("smb-credentials %s has mode %04o: others could read the password; "
			"refusing it (chmod 600 %s)", s->credentials, (unsigned)(st.st_mode & 07777), s->credentials);
		close(fd);
		return -1;
	}
	if (st.st_uid != getuid()) {
		SET_ERR("smb-credentials %s is not owned by this user; refusing it", s->credentials);
		close(fd);
		return -1;
	}
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		SET_ERR("smb-credentials %s: %s", s->credentials, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	s->user[0] = s->password[0] = s->domain[0] = '\0';
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		char *k = line, *v = eq + 1;
		*eq = '\0';
		while (*k == ' ' || *k == '\t') k++;
		for (char *e = eq - 1; e >= k && (*e == ' ' || *e == '\t'); e--) *e = '\0';
		while (*v == ' ' || *v == '\t') v++;
		for (char *e = v + strlen(v) - 1; e >= v && (*e == ' ' || *e == '\t' || *e == '\r'); e--) *e = '\0';
		if (!strcmp(k, "username") || !strcmp(k, "user"))
			snprintf(s->user, sizeof(s->user), "%s", v);
		else if (!strcmp(k, "password"))
			snprintf(s->password, sizeof(s->password), "%s", v);
		else if (!strcmp(k, "domain") || !strcmp(k, "workgroup"))
			snprintf(s->domain, sizeof(s->domain), "%s", v);
	}
	if (!s->user[0]) {
		SET_ERR("smb-credentials %s: no \"username = ...\" line", s->credentials);
		return -1;
	}
	return 0;
}

static void auth_fn(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen,
		    char *un, int unlen, char *pw, int pwlen)
{
	struct smb_target *s = smbc_getOptionUserData(c);
	if (s->domain[0])
		snprintf(wg, (size_t)wglen, "%s", s->domain);
	snprintf(un, (size_t)unlen, "%s", s->user);
	snprintf(pw, (size_t)pwlen, "%s", s->password);
}

static void drop_ctx(struct smb_target *s)
{
	if (s->ctx)
		smbc_free_context(s->ctx, 1);
	s->ctx = NULL;
}

static SMBCCTX *connect_ctx(struct smb_target *s, char *err, size_t errsize)
{
	/* the file is checked on every delivery: a chmod 644 later still stops us */
	if (read_credentials(s, err, errsize) < 0) {
		drop_ctx(s);
		return NULL;
	}
	if (s->ctx)
		return s->ctx;
	SMBCCTX *ctx = smbc_new_context();
	if (!ctx) {
		SET_ERR("smb: cannot create a libsmbclient context");
		return NULL;
	}
	smbc_setDebug(ctx, 0);
	smbc_setOptionUserData(ctx, s);
	smbc_setFunctionAuthDataWithContext(ctx, auth_fn);
	smbc_setOptionNoAutoAnonymousLogin(ctx, 1);
	smbc_setTimeout(ctx, 5000);
	if (s->port)
		smbc_setPort(ctx, s->port);
	if (!smbc_init_context(ctx)) {
		SET_ERR("smb: cannot initialise libsmbclient: %s", strerror(errno));
		smbc_free_context(ctx, 1);
		return NULL;
	}
	s->ctx = ctx;
	return ctx;
}

static void url(char *buf, size_t size, const struct smb_target *s, const char *name)
{
	snprintf(buf, size, "smb://%s/%s%s%s", s->host, s->share_path, name ? "/" : "", name ? name : "");
}

/* Creates the directories below the share (ignores "exists"). */
static void ensure_dirs(SMBCCTX *ctx, const struct smb_target *s)
{
	char path[768], u[1100];
	const char *slash = strchr(s->share_path, '/');
	if (!slash)
		return;
	snprintf(path, sizeof(path), "%s", s->share_path);
	for (char *p = path + (slash - s->share_path) + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			snprintf(u, sizeof(u), "smb://%s/%s", s->host, path);
			smbc_getFunctionMkdir(ctx)(ctx, u, 0755);
			*p = c;
			if (c == '\0')
				break;
		}
	}
}

/* The URL of `name` as the user wrote it (host[:port]), for messages. */
static void shown(char *buf, size_t size, const struct smb_target *s, const char *name)
{
	snprintf(buf, size, "%s%s%s", s->display, name ? "/" : "", name ? name : "");
}

/* Why an operation on the share failed, in words: a refused write is told apart from refused
 * credentials by trying to list the share (which a read-only share allows). */
static void explain(struct smb_target *s, SMBCCTX *ctx, int e, const char *what, const char *name,
		    char *err, size_t errsize)
{
	char where[1500];
	shown(where, sizeof(where), s, name);
	if (e == EACCES || e == EPERM) {
		char root[1100];
		const char *slash = strchr(s->share_path, '/');
		int sl = slash ? (int)(slash - s->share_path) : (int)strlen(s->share_path);
		snprintf(root, sizeof(root), "smb://%s/%.*s", s->host, sl, s->share_path);
		SMBCFILE *d = smbc_getFunctionOpendir(ctx)(ctx, root);
		int e2 = d ? 0 : errno;
		if (d)
			smbc_getFunctionClosedir(ctx)(ctx, d);
		if (e2 == EACCES || e2 == EPERM)
			SET_ERR("smb: %s %s: logon refused: wrong user name or password (check %s)", what,
				where, s->credentials);
		else
			SET_ERR("smb: %s %s: permission denied: the share is read-only or user \"%s\" may "
				"not write there", what, where, s->user);
		return;
	}
	SET_ERR("smb: %s %s: %s", what, where, strerror(e ? e : EIO));
}

static void part_url(char *buf, size_t size, const struct smb_target *s, const char *name, char *part, size_t partsize)
{
	snprintf(part, partsize, ".%s.part", name);
	url(buf, size, s, part);
}

/* Bytes [from, to) of src_fd at the same offsets of the open file f on the share. */
static int write_range(struct smb_target *s, SMBCCTX *ctx, SMBCFILE *f, int src_fd, uint64_t from, uint64_t to,
		       const char *partname, char *err, size_t errsize)
{
	static char buf[1 << 20]; /* one delivery at a time: the worker's thread */
	if (smbc_getFunctionLseek(ctx)(ctx, f, (off_t)from, SEEK_SET) < 0) {
		explain(s, ctx, errno, "seeking in", partname, err, errsize);
		return -1;
	}
	for (uint64_t at = from; at < to;) {
		size_t want = to - at > sizeof(buf) ? sizeof(buf) : (size_t)(to - at);
		ssize_t n = pread(src_fd, buf, want, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			SET_ERR("the local file of %s is shorter than %llu bytes: %s", partname + 1,
				(unsigned long long)to, n < 0 ? strerror(errno) : "it was cut");
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = smbc_getFunctionWrite(ctx)(ctx, f, buf + off, (size_t)(n - off));
			if (w <= 0) {
				explain(s, ctx, w < 0 ? errno : ENOSPC, "writing", partname, err, errsize);
				return -1;
			}
			off += w;
		}
		at += (uint64_t)n;
	}
	return 0;
}

static int smb_put_part(struct deliver_target *t, int src_fd, const char *name, uint64_t from, uint64_t to,
			bool fresh, char *err, size_t errsize)
{
	struct smb_target *s = (struct smb_target *)t;
	char partname[300], parturl[1500];
	SMBCCTX *ctx = connect_ctx(s, err, errsize);
	if (!ctx)
		return -1;
	part_url(parturl, sizeof(parturl), s, name, partname, sizeof(partname));
	if (fresh)
		ensure_dirs(ctx, s);
	SMBCFILE *f = smbc_getFunctionOpen(ctx)(ctx, parturl, fresh ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY, 0644);
	if (!f) {
		int e = errno;
		explain(s, ctx, e, fresh ? "cannot create" : "cannot open", partname, err, errsize);
		drop_ctx(s);
		return !fresh && e == ENOENT ? -2 : -1;
	}
	int rc = 0;
	struct stat st;
	/* (by its name: fstat of a file just opened may say 0 bytes) */
	if (!fresh && (smbc_getFunctionStat(ctx)(ctx, parturl, &st) < 0 || (uint64_t)st.st_size < from)) {
		char where[1500];
		shown(where, sizeof(where), s, partname);
		SET_ERR("smb: %s holds less than was sent", where);
		rc = -2;
	}
	if (rc == 0)
		rc = write_range(s, ctx, f, src_fd, from, to, partname, err, errsize);
	if (smbc_getFunctionClose(ctx)(ctx, f) < 0 && rc == 0) {
		explain(s, ctx, errno, "closing", partname, err, errsize);
		rc = -1;
	}
	if (rc < 0)
		drop_ctx(s);
	return rc;
}

static int smb_land(struct deliver_target *t, const char *name, uint64_t size, char *err, size_t errsize)
{
	struct smb_target *s = (struct smb_target *)t;
	char partname[300], parturl[1500], dsturl[1500];
	struct stat st;
	SMBCCTX *ctx = connect_ctx(s, err, errsize);
	if (!ctx)
		return -1;
	part_url(parturl, sizeof(parturl), s, name, partname, sizeof(partname));
	url(dsturl, sizeof(dsturl), s, name);
	/* SMB rename does not replace: remove an older copy first (a re-delivery) */
	smbc_getFunctionUnlink(ctx)(ctx, dsturl);
	if (smbc_getFunctionRename(ctx)(ctx, parturl, ctx, dsturl) < 0) {
		explain(s, ctx, errno, "renaming into", name, err, errsize);
		drop_ctx(s);
		return -1;
	}
	if (smbc_getFunctionStat(ctx)(ctx, dsturl, &st) < 0 || (uint64_t)st.st_size != size) {
		char where[1500];
		shown(where, sizeof(where), s, name);
		SET_ERR("smb: %s is not complete on the share after the copy", where);
		drop_ctx(s);
		return -1;
	}
	return 0;
}

static void smb_drop_part(struct deliver_target *t, const char *name)
{
	struct smb_target *s = (struct smb_target *)t;
	char partname[300], parturl[1500], err[64];
	SMBCCTX *ctx = connect_ctx(s, err, sizeof(err));
	if (!ctx)
		return;
	part_url(parturl, sizeof(parturl), s, name, partname, sizeof(partname));
	smbc_getFunctionUnlink(ctx)(ctx, parturl);
}

/* The whole file: a fresh temporary copy, then its name. */
static int smb_put(struct deliver_target *t, const char *src, const char *name, char *err, size_t errsize)
{
	struct stat st;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		SET_ERR("%s: %s", src, strerror(errno));
		if (in >= 0)
			close(in);
		return -1;
	}
	int rc = smb_put_part(t, in, name, 0, (uint64_t)st.st_size, true, err, errsize);
	close(in);
	if (rc == 0)
		rc = smb_land(t, name, (uint64_t)st.st_size, err, errsize);
	if (rc < 0)
		smb_drop_part(t, name);
	return rc < 0 ? -1 : 0;
}

static void smb_destroy(struct deliver_target *t)
{
	struct smb_target *s = (struct smb_target *)t;
	drop_ctx(s);
	memset(s->password, 0, sizeof(s->password));
	free(s);
}

struct deliver_target *deliver_smb_new(const char *u, const char *credentials, char *err, size_t errsize)
{
	if (strncmp(u, "smb://", 6) != 0) {
		SET_ERR("smb-url %s: must start with smb://", u);
		return NULL;
	}
	struct smb_target *s = calloc(1, sizeof(*s));
	if (!s) {
		SET_ERR("out of memory");
		return NULL;
	}
	const char *h = u + 6, *slash = strchr(h, '/');
	if (!slash || slash == h || slash[1] == '\0' || (size_t)(slash - h) >= sizeof(s->host)) {
		SET_ERR("smb-url %s: expected smb://host[:port]/share[/dir]", u);
		free(s);
		return NULL;
	}
	memcpy(s->host, h, (size_t)(slash - h));
	char *colon = strrchr(s->host, ':');
	if (colon && !strchr(colon, ']')) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end || p < 1 || p > 65535) {
			SET_ERR("smb-url %s: bad port", u);
			free(s);
			return NULL;
		}
		s->port = (uint16_t)p;
		*colon = '\0';
	}
	snprintf(s->share_path, sizeof(s->share_path), "%s", slash + 1);
	size_t l = strlen(s->share_path);
	while (l > 0 && s->share_path[l - 1] == '/')
		s->share_path[--l] = '\0';
	snprintf(s->credentials, sizeof(s->credentials), "%s", credentials);
	if (read_credentials(s, err, errsize) < 0) {
		free(s);
		return NULL;
	}
	snprintf(s->display, sizeof(s->display), "%s", u);
	l = strlen(s->display);
	while (l > 0 && s->display[l - 1] == '/')
		s->display[--l] = '\0';
	s->base.name = "smb";
	snprintf(s->base.where, sizeof(s->base.where), "%s", u);
	s->base.put = smb_put;
	s->base.put_part = smb_put_part;
	s->base.land = smb_land;
	s->base.drop_part = smb_drop_part;
	s->base.destroy = smb_destroy;
	return &s->base;
}

#else

struct deliver_target *deliver_smb_new(const char *u, const char *credentials, char *err, size_t errsize)
{
	SET_ERR("smb-url %s: this build has no libsmbclient support", u);
	return NULL;
}

#endif
