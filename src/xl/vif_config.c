/* vif specs: the keys of xl-network-configuration(5) that Xenith takes, libxl's defaults, and the
 * text the VMM reads (docs/netif.md).
 *
 * Parsing is pure (a spec in, a struct xl_vif or a message out); resolving the defaults is not: the
 * random MAC comes from /dev/urandom and the script from the file system.  That split lets
 * `xl create` report every config mistake with its file:line before it touches the host. */
#define _GNU_SOURCE
#include "xl/vif_config.h"
#include "xl/xl_domain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/hex.h"

#define SYSTEM_SCRIPTS "/etc/xen/scripts"

static int __attribute__((format(printf, 4, 5)))
vif_error(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s", where ? where : "");

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *xl_vif_nictype_name(enum xl_vif_nictype nictype)
{
	static const char *const names[] = { [VIF_NICTYPE_IOEMU] = "ioemu", [VIF_NICTYPE_VIF] = "vif" };

	return (unsigned)nictype < sizeof(names) / sizeof(names[0]) ? names[nictype] : NULL;
}

void xl_vif_mac_format(const unsigned char mac[6], char out[VIF_MAC_TEXT])
{
	snprintf(out, VIF_MAC_TEXT, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

int xl_vif_mac_parse(const char *text, unsigned char mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit_value(text[0]), lo = hi < 0 ? -1 : hex_digit_value(text[1]);

		if (lo < 0)
			return -1;
		mac[i] = (unsigned char)(hi << 4 | lo);
		text += 2;
		if (*text != (i < 5 ? ':' : '\0'))
			return -1;
		if (i < 5)
			text++;
	}
	return 0;
}

void xl_vif_mac_from_random(const unsigned char r[3], unsigned char mac[6])
{
	mac[0] = 0x00;
	mac[1] = 0x16;
	mac[2] = 0x3e;
	mac[3] = r[0] & 0x7f;
	mac[4] = r[1];
	mac[5] = r[2];
}

/* Linux's rule for device names (dev_valid_name), plus '=' which our spec syntax would misread. */
static const char *device_name_problem(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return "it is empty";
	if (len > VIF_NAME_MAX)
		return "it is longer than 15 characters";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "it is '.' or '..'";
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		if (*c == '/' || *c == ':' || *c == '=')
			return "it contains '/', ':' or '='";
		if (*c <= ' ' || *c == 0x7f)
			return "it contains whitespace or a control character";
	}
	return NULL;
}

/* address[/prefix]: one IPv4 or IPv6 address (several, as Xen allows for vif-route, would need a
 * space, which the VMM's request syntax cannot carry). */
static bool ip_is_valid(const char *text)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	int max_prefix;

	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		max_prefix = 32;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		max_prefix = 128;
	else
		return false;
	if (slash) {
		char *end;
		long prefix;

		if (slash[1] < '0' || slash[1] > '9')
			return false;
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno || *end || prefix > max_prefix)
			return false;
	}
	return true;
}

static const char *skip_digits(const char *p)
{
	const char *start = p;

	while (*p >= '0' && *p <= '9')
		p++;
	return p > start ? p : NULL;
}

/* Xen's rate syntax: RATE/s[@INTERVAL], RATE digits with an optional G, M or K and then B (bytes)
 * or b (bits), INTERVAL digits with s, ms or us. */
static bool rate_is_valid(const char *text)
{
	const char *p = skip_digits(text);

	if (!p)
		return false;
	if (*p == 'G' || *p == 'M' || *p == 'K')
		p++;
	if (*p != 'B' && *p != 'b')
		return false;
	p++;
	if (strncmp(p, "/s", 2))
		return false;
	p += 2;
	if (!*p)
		return true;
	if (*p++ != '@' || !(p = skip_digits(p)))
		return false;
	return !strcmp(p, "s") || !strcmp(p, "ms") || !strcmp(p, "us");
}

static int replace(char **field, const char *value, char *err, size_t errlen, const char *where)
{
	char *copy = strdup(value);

	if (!copy)
		return vif_error(err, errlen, where, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

/* One key=value of a spec. */
static int parse_token(char *token, const char *where, struct xl_vif *vif, FILE *warn,
		       char *err, size_t errlen)
{
	char *value = strchr(token, '=');
	const char *problem;

	if (!value)
		return vif_error(err, errlen, where, "'%s' is not key=value", token);
	*value++ = '\0';
	if (!strcmp(token, "mac")) {
		if (xl_vif_mac_parse(value, vif->mac))
			return vif_error(err, errlen, where, "invalid mac '%s' (expected six hex pairs "
					 "like 00:16:3e:01:02:03)", value);
		if (vif->mac[0] & 1)
			return vif_error(err, errlen, where, "mac '%s' is a multicast address (the low "
					 "bit of its first byte is set)", value);
		vif->mac_set = true;
		return 0;
	}
	if (!strcmp(token, "bridge") || !strcmp(token, "vifname")) {
		problem = device_name_problem(value);
		if (problem)
			return vif_error(err, errlen, where, "invalid %s '%s': %s", token, value,
					 problem);
		return replace(!strcmp(token, "bridge") ? &vif->bridge : &vif->vifname, value, err,
			       errlen, where);
	}
	if (!strcmp(token, "script")) {
		if (!*value)
			return vif_error(err, errlen, where, "'script' must not be empty");
		if (strpbrk(value, " \t\n"))
			return vif_error(err, errlen, where, "script '%s': a path with whitespace "
					 "cannot be passed to the VMM", value);
		return replace(&vif->script, value, err, errlen, where);
	}
	if (!strcmp(token, "ip")) {
		if (!ip_is_valid(value))
			return vif_error(err, errlen, where, "invalid ip '%s' (expected one address "
					 "like 10.0.0.2 or 10.0.0.2/24)", value);
		return replace(&vif->ip, value, err, errlen, where);
	}
	if (!strcmp(token, "rate")) {
		if (!rate_is_valid(value))
			return vif_error(err, errlen, where, "invalid rate '%s' (expected RATE/s or "
					 "RATE/s@INTERVAL, like 10Mb/s or 1MB/s@20ms)", value);
		if (warn)
			fprintf(warn, "%swarning: rate limiting is not implemented yet; "
				"rate=%s is ignored\n", where, value);
		return replace(&vif->rate, value, err, errlen, where);
	}
	if (!strcmp(token, "backend")) {
		if (strcmp(value, "0") && strcmp(value, "Domain-0"))
			return vif_error(err, errlen, where, "backend '%s': driver domains are not "
					 "supported yet", value);
		return 0;
	}
	if (!strcmp(token, "model")) {
		/* Checked against the domain's type later (hvm_config_xl.c); the name is kept as it
		 * must be written back, so it has to fit a spec. */
		if (!*value || strlen(value) > VIF_MODEL_MAX || strpbrk(value, " \t\n"))
			return vif_error(err, errlen, where, "invalid model '%s'", value);
		snprintf(vif->model, sizeof(vif->model), "%s", value);
		return 0;
	}
	if (!strcmp(token, "type")) {
		if (!strcmp(value, "ioemu"))
			vif->nictype = VIF_NICTYPE_IOEMU;
		else if (!strcmp(value, "vif"))
			vif->nictype = VIF_NICTYPE_VIF;
		else
			return vif_error(err, errlen, where, "invalid type '%s' (valid: ioemu, an emulated "
					 "NIC and a PV vif; vif, a PV vif only)", value);
		return 0;
	}
	if (warn)
		fprintf(warn, "%swarning: unknown key '%s' (ignored)\n", where, token);
	return 0;
}

int xl_vif_parse(const char *spec, const char *where, int devid, struct xl_vif *vif, FILE *warn,
		 char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL;
	int r = 0;

	memset(vif, 0, sizeof(*vif));
	vif->devid = devid;
	vif->where = strdup(where ? where : "");
	if (!copy || !vif->where) {
		r = vif_error(err, errlen, where, "out of memory");
		goto out;
	}
	/* Like xl, blanks around each key=value are dropped and empty items skipped. */
	for (char *t = strtok_r(copy, ",", &save); t && !r; t = strtok_r(NULL, ",", &save)) {
		char *end = t + strlen(t);

		while (*t == ' ' || *t == '\t')
			t++;
		while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*t)
			r = parse_token(t, vif->where, vif, warn, err, errlen);
	}
out:
	free(copy);
	if (r)
		xl_vif_free(vif);
	return r;
}

void xl_vif_free(struct xl_vif *vif)
{
	free(vif->bridge);
	free(vif->script);
	free(vif->ip);
	free(vif->vifname);
	free(vif->rate);
	free(vif->where);
	memset(vif, 0, sizeof(*vif));
}

static int random_bytes(unsigned char *buf, size_t len)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			close(fd);
			return -e;
		}
		got += (size_t)n;
	}
	close(fd);
	return 0;
}

static bool mac_taken(const unsigned char mac[6], const unsigned char (*taken)[6], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(mac, taken[i], 6))
			return true;
	return false;
}

/* `scripts/` beside the directory of the running program, made absolute; 0 or -1. */
static int beside_bin(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';                   /* drop bin/ too: <prefix>/bin/xl -> <prefix> */
	return (size_t)snprintf(out, len, "%s/scripts", self) < len ? 0 : -1;
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A path made absolute against the cwd, without resolving symbolic links (Xen's scripts find
 * their helpers beside $0).  0 or -1. */
static int make_absolute(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return (size_t)snprintf(out, len, "%s", path) < len ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	return (size_t)snprintf(out, len, "%s/%s", cwd, path) < len ? 0 : -1;
}

/* A bare name through the scripts directories; a name with a '/' is a path. */
static int find_script(const struct xl_vif *vif, char *out, size_t len, char *err,
		       size_t errlen)
{
	const char *name = vif->script, *env = getenv("XENITH_SCRIPTS");
	char dirs[2][PATH_MAX], candidate[PATH_MAX], tried[2 * PATH_MAX + 8];
	size_t n_dirs = 0;

	if (strchr(name, '/')) {
		if (make_absolute(name, out, len))
			return vif_error(err, errlen, vif->where, "script '%s': path too long", name);
		if (!is_file(out))
			return vif_error(err, errlen, vif->where, "script '%s' does not exist", name);
		return 0;
	}
	if (env && *env) {
		snprintf(dirs[n_dirs++], PATH_MAX, "%s", env);
	} else {
		if (!beside_bin(dirs[n_dirs], PATH_MAX))
			n_dirs++;
		snprintf(dirs[n_dirs++], PATH_MAX, "%s", SYSTEM_SCRIPTS);
	}
	tried[0] = '\0';
	for (size_t i = 0; i < n_dirs; i++) {
		if ((size_t)snprintf(candidate, sizeof(candidate), "%s/%s", dirs[i], name) <
			    sizeof(candidate) &&
		    is_file(candidate)) {
			if (make_absolute(candidate, out, len))
				return vif_error(err, errlen, vif->where, "script '%s': path too long",
						 name);
			return 0;
		}
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
			 i ? ", " : "", dirs[i]);
	}
	return vif_error(err, errlen, vif->where, "script '%s' not found (looked in %s%s)", name,
			 tried, env && *env ? ", from XENITH_SCRIPTS" : "");
}

int xl_vif_resolve_defaults(struct xl_vif *vif, const unsigned char (*taken)[6], size_t n_taken,
			    char *err, size_t errlen)
{
	char path[PATH_MAX];

	while (!vif->mac_set) {
		unsigned char r[3];
		int e = random_bytes(r, sizeof(r));

		if (e)
			return vif_error(err, errlen, vif->where, "cannot read /dev/urandom for a "
					 "MAC address: %s", strerror(-e));
		xl_vif_mac_from_random(r, vif->mac);
		vif->mac_set = !mac_taken(vif->mac, taken, n_taken);
	}
	if (!vif->bridge && replace(&vif->bridge, VIF_DEFAULT_BRIDGE, err, errlen, vif->where))
		return -1;
	if (!vif->script && replace(&vif->script, VIF_DEFAULT_SCRIPT, err, errlen, vif->where))
		return -1;
	if (find_script(vif, path, sizeof(path), err, errlen))
		return -1;
	if (access(path, X_OK))
		return vif_error(err, errlen, vif->where, "script '%s' is not executable", path);
	if (strpbrk(path, " \t\n,"))
		return vif_error(err, errlen, vif->where, "script '%s': a path with whitespace or "
				 "',' cannot be passed to the VMM", path);
	return replace(&vif->script, path, err, errlen, vif->where);
}

bool xl_vif_uses_bridge(const struct xl_vif *vif)
{
	const char *script = vif->script ? vif->script : VIF_DEFAULT_SCRIPT;
	const char *base = strrchr(script, '/');

	return !strcmp(base ? base + 1 : script, "vif-bridge");
}

int xl_vif_check_bridge(const struct xl_vif *vif, const char *sysfs_net, char *err,
			size_t errlen)
{
	const char *bridge = vif->bridge ? vif->bridge : VIF_DEFAULT_BRIDGE;
	char path[PATH_MAX];
	struct stat st;

	if (!xl_vif_uses_bridge(vif))
		return 0;
	snprintf(path, sizeof(path), "%s/%s/bridge", sysfs_net, bridge);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (vif->devid >= 0)
		snprintf(err, errlen, "bridge '%s' does not exist (vif %d)", bridge, vif->devid);
	else
		snprintf(err, errlen, "bridge '%s' does not exist", bridge);
	return -1;
}

char *xl_vif_format_spec(const struct xl_vif *vif)
{
	char mac[VIF_MAC_TEXT], *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	xl_vif_mac_format(vif->mac, mac);
	if (vif->devid >= 0)
		fprintf(f, "devid=%d,", vif->devid);
	fprintf(f, "mac=%s,bridge=%s,script=%s", mac, vif->bridge ? vif->bridge : VIF_DEFAULT_BRIDGE,
		vif->script ? vif->script : VIF_DEFAULT_SCRIPT);
	if (vif->ip)
		fprintf(f, ",ip=%s", vif->ip);
	if (vif->vifname)
		fprintf(f, ",vifname=%s", vif->vifname);
	if (vif->rate)
		fprintf(f, ",rate=%s", vif->rate);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

static bool parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

static int parse_info_line(char *line, struct xl_vif_info *info)
{
	char *f[8], *save = NULL;
	unsigned char mac[6];
	int devid, n = 0;

	for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		if (n < 8)
			f[n++] = w;
	if (n != 7 || !parse_int(f[0], 0, INT_MAX, &devid) || xl_vif_mac_parse(f[1], mac) ||
	    !parse_int(f[2], -1, INT_MAX, &info->state) ||
	    !parse_int(f[3], -1, INT_MAX, &info->evtchn) ||
	    !parse_int(f[4], -1, INT_MAX, &info->tx_ring_ref) ||
	    !parse_int(f[5], -1, INT_MAX, &info->rx_ring_ref) || strlen(f[6]) > VIF_NAME_MAX)
		return -1;
	info->devid = (unsigned int)devid;
	xl_vif_mac_format(mac, info->mac);
	snprintf(info->vifname, sizeof(info->vifname), "%s", f[6]);
	return 0;
}

static int vif_line(char *line, void *record)
{
	return parse_info_line(line, record);
}

int xl_vif_list_parse(const char *text, struct xl_vif_info **out, size_t *n, char *err,
		      size_t errlen)
{
	void *records;
	int r = xl_reply_parse_lines(text, "vif-list", sizeof(**out), vif_line, NULL,
				     "devid mac state evtchn tx-ring-ref rx-ring-ref vifname", &records, n,
				     err, errlen);

	*out = records;
	return r;
}
