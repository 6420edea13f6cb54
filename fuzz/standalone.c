/* SPDX-License-Identifier: MIT */
/*
 * Replays fuzz inputs without libFuzzer, as libgit2's fuzzers/standalone_driver.c does: every
 * argument is a file or a directory of files, each passed once to LLVMFuzzerTestOneInput. The
 * corpus so runs as a plain test in every build (and under ASan, UBSan and valgrind).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_INPUT (4 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	uint8_t *exact;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		(void)fprintf(stderr, "standalone: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			data = realloc(data, cap);
			if (data == NULL) {
				abort();
			}
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len <= MAX_INPUT);
	(void)fclose(f);
	if (len > MAX_INPUT) {
		(void)fprintf(stderr, "standalone: %s: larger than %d bytes\n", path, MAX_INPUT);
		free(data);
		return -1;
	}
	/* an exactly sized copy, so that ASan and valgrind see any read past the end */
	exact = malloc(len == 0 ? 1 : len);
	if (exact == NULL) {
		abort();
	}
	if (len > 0) {
		memcpy(exact, data, len);
	}
	free(data);
	(void)LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	(*count)++;
	return 0;
}

static int
compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_path(const char *path, size_t *count)
{
	struct stat st;
	DIR *d;
	struct dirent *ent;
	char **names = NULL, **grown;
	size_t n = 0, i;
	int rc = 0;

	if (stat(path, &st) < 0) {
		(void)fprintf(stderr, "standalone: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		return run_file(path, count);
	}
	d = opendir(path);
	if (d == NULL) {
		(void)fprintf(stderr, "standalone: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((ent = readdir(d)) != NULL) {
		size_t len;
		if (ent->d_name[0] == '.') {
			continue;
		}
		grown = realloc(names, (n + 1) * sizeof(*names));
		len = strlen(path) + strlen(ent->d_name) + 2;
		if (grown == NULL) {
			abort();
		}
		names = grown;
		names[n] = malloc(len);
		if (names[n] == NULL) {
			abort();
		}
		(void)snprintf(names[n], len, "%s/%s", path, ent->d_name);
		n++;
	}
	(void)closedir(d);
	/* a stable order makes a failure reproducible */
	if (n > 1) {
		qsort(names, n, sizeof(*names), compare);
	}
	for (i = 0; i < n; i++) {
		if (run_path(names[i], count) < 0) {
			rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int i, rc = 0;

	if (argc < 2) {
		(void)fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (run_path(argv[i], &count) < 0) {
			rc = 1;
		}
	}
	if (count == 0) {
		/* an empty corpus would pass vacuously */
		(void)fprintf(stderr, "standalone: no inputs found\n");
		return 1;
	}
	(void)printf("%s: %zu inputs replayed\n", argv[0], count);
	return rc;
}
