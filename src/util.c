/* SPDX-License-Identifier: MIT */
#define _DEFAULT_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void
die_oom(void)
{
	static const char msg[] = "atom-safety: out of memory\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);
	if (p == NULL) {
		die_oom();
	}
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);
	if (p == NULL) {
		die_oom();
	}
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);
	if (q == NULL) {
		die_oom();
	}
	return q;
}

char *
xstrdup(const char *s)
{
	char *p;
	if (s == NULL) {
		return NULL;
	}
	p = strdup(s);
	if (p == NULL) {
		die_oom();
	}
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (p == NULL) {
		die_oom();
	}
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *p;

	/* two passes over the arguments: the first on a copy */
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		die_oom();
	}
	p = xmalloc((size_t)n + 1);
	(void)vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void
secret_wipe(void *p, size_t n)
{
	if (p != NULL) {
		explicit_bzero(p, n);
	}
}

void
secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int64_t
clock_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wall_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
time_format_utc(char *out, size_t size, int64_t epoch_ms)
{
	time_t t = (time_t)(epoch_ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		(void)snprintf(out, size, "%lld", (long long)(epoch_ms / 1000));
	}
}

void
duration_format(char *out, size_t size, int64_t ms)
{
	if (ms < 1000 || ms % 1000 != 0) {
		if (ms < 10000) {
			(void)snprintf(out, size, "%lldms", (long long)ms);
		} else {
			(void)snprintf(out, size, "%.1fs", (double)ms / 1000.0);
		}
	} else if (ms < 60000 || ms % 60000 != 0) {
		if (ms >= 60000) {
			(void)snprintf(out, size, "%lldm%llds", (long long)(ms / 60000),
				       (long long)(ms % 60000 / 1000));
		} else {
			(void)snprintf(out, size, "%llds", (long long)(ms / 1000));
		}
	} else {
		(void)snprintf(out, size, "%lldm", (long long)(ms / 60000));
	}
}

void
random_fill(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t done = 0;

	while (done < n) {
		ssize_t r = getrandom(p + done, n - done, 0);
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			break;
		}
		done += (size_t)r;
	}
	if (done < n) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, p + done, n - done) != (ssize_t)(n - done)) {
			abort(); /* no randomness at all: refuse to continue */
		}
		(void)close(fd);
	}
}

uint32_t
random_u32(void)
{
	uint32_t v;
	random_fill(&v, sizeof(v));
	return v;
}

void
random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	size_t i;

	while (n > 0) {
		size_t chunk = n > sizeof(b) ? sizeof(b) : n;
		random_fill(b, chunk);
		/* cppcheck 2.10 takes chunk for 0 inside while (n > 0): a false positive */
		/* cppcheck-suppress knownConditionTrueFalse */
		for (i = 0; i < chunk; i++) {
			*out++ = hex[b[i] >> 4];
			*out++ = hex[b[i] & 15];
		}
		n -= chunk;
	}
	*out = '\0';
}

size_t
utf8_char_len(const unsigned char *p, size_t left)
{
	size_t n, i;
	unsigned cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (left < n) {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) {
		return 0;
	}
	return n;
}

char *
base64_encode(const void *data, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = alphabet[p[i] >> 2];
		*o++ = alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = alphabet[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = alphabet[p[i + 2] & 63];
	}
	if (i < len) {
		*o++ = alphabet[p[i] >> 2];
		if (i + 1 < len) {
			*o++ = alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			*o++ = alphabet[(p[i + 1] & 15) << 2];
		} else {
			*o++ = alphabet[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

bool
header_value_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return false;
		}
	}
	return true;
}

char *
url_for_log(const char *url)
{
	return xstrndup(url, strcspn(url, "?#"));
}

bool
str_has_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_ieq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

char *
str_trim_dup(const char *s)
{
	const char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
		s++;
	}
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n')) {
		end--;
	}
	return xstrndup(s, (size_t)(end - s));
}

size_t
strv_len(char *const *v)
{
	size_t n = 0;
	while (v != NULL && v[n] != NULL) {
		n++;
	}
	return n;
}

void
strv_push(char ***v, char *s)
{
	size_t n = strv_len(*v);
	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = s;
	(*v)[n + 1] = NULL;
}

void
strv_free(char **v)
{
	size_t i;
	for (i = 0; v != NULL && v[i] != NULL; i++) {
		free(v[i]);
	}
	free(v);
}

bool
strv_contains(char *const *v, const char *s)
{
	size_t i;
	for (i = 0; v != NULL && v[i] != NULL; i++) {
		if (strcmp(v[i], s) == 0) {
			return true;
		}
	}
	return false;
}

static int cancel_pipe[2] = { -1, -1 };
static volatile sig_atomic_t cancel_signo;
/* signals received; the handler is the only writer */
static volatile sig_atomic_t cancel_count;
/* during a grace phase: the count when it began (only a later signal cancels); -1: none */
static sig_atomic_t cancel_grace_base = -1;
static int cancel_first_signo;

static void
on_signal(int signo)
{
	int saved = errno;
	char c = 'x';

	cancel_signo = signo;
	cancel_count++;
	if (cancel_pipe[1] >= 0) {
		(void)!write(cancel_pipe[1], &c, 1);
	}
	errno = saved;
}

int
cancel_init(void)
{
	struct sigaction sa;
	int i;

	if (pipe(cancel_pipe) < 0) {
		return -1;
	}
	for (i = 0; i < 2; i++) {
		(void)fcntl(cancel_pipe[i], F_SETFD, FD_CLOEXEC);
		(void)fcntl(cancel_pipe[i], F_SETFL, O_NONBLOCK);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

int
cancel_fd(void)
{
	return cancel_pipe[0];
}

bool
cancel_requested(void)
{
	if (cancel_grace_base >= 0) {
		return cancel_count > cancel_grace_base;
	}
	return cancel_signo != 0;
}

int
cancel_signal(void)
{
	return (int)cancel_signo;
}

int
cancel_first_signal(void)
{
	return cancel_first_signo != 0 ? cancel_first_signo : (int)cancel_signo;
}

void
cancel_grace_begin(void)
{
	char drain[64];

	if (cancel_signo == 0 || cancel_grace_base >= 0) {
		return;
	}
	cancel_first_signo = (int)cancel_signo;
	/* the count first: a signal from here on counts, even if its byte is drained below */
	cancel_grace_base = cancel_count;
	while (cancel_pipe[0] >= 0 && read(cancel_pipe[0], drain, sizeof(drain)) > 0) {
	}
}

void
cancel_grace_end(void)
{
	cancel_grace_base = -1;
}

int
cancel_sleep_ms(int64_t ms)
{
	int64_t end = clock_ms() + ms;

	for (;;) {
		struct pollfd pfd = { cancel_pipe[0], POLLIN, 0 };
		int64_t left = end - clock_ms();
		if (cancel_requested()) {
			return -1;
		}
		if (left <= 0) {
			return 0;
		}
		if (cancel_pipe[0] < 0) {
			struct timespec ts = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };
			(void)nanosleep(&ts, NULL);
			continue;
		}
		(void)poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
	}
}

char *
file_read(const char *path, size_t max, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL) {
		return NULL;
	}
	for (;;) {
		size_t n;
		if (cap - len < 4096) {
			/* grown by copy and wipe, not realloc: these files hold keys and tokens */
			size_t new_cap = cap == 0 ? 8192 : cap * 2;
			char *grown = xmalloc(new_cap + 1);
			if (data != NULL) {
				memcpy(grown, data, len);
				secret_wipe(data, cap + 1);
				free(data);
			}
			data = grown;
			cap = new_cap;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (len > max) {
			secret_wipe(data, cap + 1);
			free(data);
			(void)fclose(f);
			errno = EFBIG;
			return NULL;
		}
		if (n == 0) {
			break;
		}
	}
	(void)fclose(f);
	if (data == NULL) {
		data = xmalloc(1);
	}
	data[len] = '\0';
	if (len_out != NULL) {
		*len_out = len;
	}
	return data;
}

size_t
utf8_floor(const char *s, size_t max)
{
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80) {
		max--;
	}
	return max;
}

void
utf8_sanitize(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n;
		if (c < 0x80) {
			i++;
			continue;
		}
		n = utf8_char_len((const unsigned char *)s + i, len - i);
		if (n == 0) {
			s[i++] = '?';
		} else {
			i += n;
		}
	}
}
