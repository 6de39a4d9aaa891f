/* listfiles - load the domain lists: the embedded defaults, replaced by
 * the files that --disposable-list, --free-provider-list and --role-list
 * name. Used at start and on SIGHUP. A file larger than LISTFILE_MAX or
 * with a bad line is refused with one line naming the file (and line);
 * on error @lists is left as it was. */
#ifndef RCPTD_DAEMON_LISTFILES_H
#define RCPTD_DAEMON_LISTFILES_H

#include <stddef.h>

#include "core/lists.h"
#include "daemon/config.h"

/* The public disposable-domain lists are ~1 MiB; 64 MiB is far beyond any
 * real list and still bounds memory. */
#define LISTFILE_MAX (64u * 1024 * 1024)

/* listfiles_load - fill @out (uninitialised) for @c. Returns 0 or -1. */
int listfiles_load(struct lists *out, const struct config *c, char *err,
		   size_t errlen);

#endif
