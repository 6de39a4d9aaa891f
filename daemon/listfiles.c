/* listfiles - the domain lists from built-in data and files. */
#include "daemon/listfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* read_file - the whole of @path into a malloc'd buffer (caller frees). */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= LISTFILE_MAX) {
				snprintf(err, errlen,
					 "%s: larger than %u octets", path,
					 LISTFILE_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 64 * 1024;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				snprintf(err, errlen, "%s: out of memory",
					 path);
				goto fail;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

int listfiles_load(struct lists *out, const struct config *c, char *err,
		   size_t errlen)
{
	const struct {
		enum lists_kind kind;
		const char *path;
		const char *option;
	} files[] = {
	    {LISTS_DISPOSABLE, c->disposable_list, "--disposable-list"},
	    {LISTS_FREE_PROVIDER, c->free_provider_list,
	     "--free-provider-list"},
	    {LISTS_ROLE, c->role_list, "--role-list"},
	};
	struct lists l;
	char sub[256];

	if (lists_init_embedded(&l, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *text;

		if (files[i].path == NULL || files[i].path[0] == '\0')
			continue;
		text = read_file(files[i].path, &len, sub, sizeof(sub));
		if (text == NULL || lists_replace(&l, files[i].kind, text, len,
						  sub, sizeof(sub)) < 0) {
			snprintf(err, errlen, "%s: %s", files[i].option, sub);
			free(text);
			lists_release(&l);
			return -1;
		}
		free(text);
	}
	*out = l;
	return 0;
}
