/* driver - replay fuzz inputs through a target without libFuzzer.
 *
 * Usage: regress_NAME PATH...   (a PATH is a corpus directory or a file)
 * Every regular file of each directory (in name order, for a stable run),
 * or the file itself, is read whole and passed once to
 * LLVMFuzzerTestOneInput(); the target aborts on a broken invariant, so
 * reaching the end means every input held. Prints "regress NAME: N inputs
 * ok" and exits 0; exits 1 when a path cannot be read or holds no input
 * (an empty corpus would prove nothing). As c-ares' test/ares-fuzz.c. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small by design (libFuzzer runs use -max_len=4096);
 * a far larger file is a mistake, not an input. */
#define DRIVER_INPUT_MAX (1024 * 1024)
#define DRIVER_PATH_MAX	 4096

/* run_file - feed one file to the target, in a buffer of exactly its
 * size so that ASan sees any read past the end; returns 0, or -1 if the
 * file cannot be read. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc = -1;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "regress: %s: %s\n", path, strerror(errno));
		goto done;
	}
	if (st.st_size > DRIVER_INPUT_MAX) {
		fprintf(stderr, "regress: %s: larger than %d octets\n", path,
			DRIVER_INPUT_MAX);
		goto done;
	}
	n = (size_t)st.st_size;
	buf = malloc(n ? n : 1);
	if (buf == NULL || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "regress: %s: cannot read\n", path);
		goto done;
	}
	LLVMFuzzerTestOneInput(buf, n);
	rc = 0;
done:
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}

/* keep_entry - scandir() filter: skip dot files ("." and ".."). */
static int keep_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* run_dir - feed every regular file of @dir; returns the count, or -1. */
static long run_dir(const char *dir)
{
	struct dirent **names;
	char path[DRIVER_PATH_MAX];
	struct stat st;
	long count = 0;
	int n = scandir(dir, &names, keep_entry, alphasort);

	if (n < 0) {
		fprintf(stderr, "regress: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int len = snprintf(path, sizeof(path), "%s/%s", dir,
				   names[i]->d_name);

		if (count >= 0 && (len < 0 || (size_t)len >= sizeof(path))) {
			fprintf(stderr, "regress: %s: path too long\n", dir);
			count = -1;
		}
		if (count >= 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			count = run_file(path) == 0 ? count + 1 : -1;
		free(names[i]);
	}
	free(names);
	return count;
}

/* target_name - "NAME" of a program called ".../regress_NAME". */
static const char *target_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	if (strncmp(base, "regress_", 8) == 0)
		base += 8;
	return base;
}

int main(int argc, char **argv)
{
	const char *name = target_name(argc > 0 ? argv[0] : "regress");
	struct stat st;
	long total = 0, n;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR-OR-FILE...\n", argv[0]);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "regress %s: %s: %s\n", name, argv[i],
				strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			n = run_dir(argv[i]);
		else
			n = run_file(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "regress %s: no inputs\n", name);
		return 1;
	}
	printf("regress %s: %ld inputs ok\n", name, total);
	return 0;
}
