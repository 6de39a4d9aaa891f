/* cli_verify - `rcptd verify [options] ADDRESS...`.
 *
 * Prints one verdict per address, in the order given: a JSON object per
 * line, or with --table a table for people. With --offline only the
 * checks that need no network run (syntax, domain lists, suggestion).
 * Exit status 0 when every address got a verdict (whatever it says), 2 on
 * a usage or configuration error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/verdict_json.h"
#include "core/precheck.h"
#include "daemon/cli.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/listfiles.h"
#include "daemon/log.h"
#include "daemon/resolver.h"
#include "daemon/setup.h"

static void verify_usage(FILE *out)
{
	fprintf(out, "usage: rcptd verify [options] [--] ADDRESS...\n\n"
		     "Verify each ADDRESS and print one JSON verdict per line "
		     "(--table: a table).\n\n");
	config_usage(out, SCOPE_VERIFY);
}

/* table_row - ADDRESS STATUS REASON FLAGS in fixed-width columns, and
 * the explanation of an invalid address under it; malloc'd. */
static char *table_row(const struct verdict *v, const char *transcript)
{
	char flags[400] = "";
	size_t n = 0;
	char *out = NULL;

	if (v->catch_all == TRI_TRUE)
		n += (size_t)snprintf(flags + n, sizeof(flags) - n,
				      "catch-all ");
	if (v->disposable)
		n += (size_t)snprintf(flags + n, sizeof(flags) - n,
				      "disposable ");
	if (v->free_provider)
		n += (size_t)snprintf(flags + n, sizeof(flags) - n, "free ");
	if (v->role_account)
		n += (size_t)snprintf(flags + n, sizeof(flags) - n, "role ");
	if (v->suggestion[0])
		snprintf(flags + n, sizeof(flags) - n, "did-you-mean:%s",
			 v->suggestion);
	const char *who = v->address[0] ? v->address : v->email;
	const char *st = verdict_status_name(v->status);
	const char *why = verdict_reason_name(v->reason);
	const char *tr = transcript ? transcript : "";
	int rc;

	if (v->message[0])
		rc = asprintf(&out, "%-40s %-14s %-18s %s\n%-40s %s\n%s", who,
			      st, why, flags, "", v->message, tr);
	else
		rc = asprintf(&out, "%-40s %-14s %-18s %s\n%s", who, st, why,
			      flags, tr);
	if (rc < 0)
		return NULL;
	return out;
}

/* render - the text printed for @v: a table row or one JSON line. */
static char *render(const struct verdict *v, const char *transcript, bool table,
		    bool with_transcript)
{
	if (table)
		return table_row(v, transcript);
	json_t *o = verdict_to_json(v);
	char *line = NULL;
	if (o && with_transcript)
		json_object_set_new(o, "transcript",
				    transcript ? json_string(transcript)
					       : json_null());
	if (o)
		line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return line;
}

/* One slot per address on the command line, printed in that order. A
 * verdict is rendered when it arrives and only its text waits for its
 * turn: the text is a tenth of a struct verdict, which matters with
 * thousands of addresses in flight. */
struct slot {
	char *text; /* NULL: out of memory */
	bool ready;
};

struct run {
	struct slot *slots;
	int n, printed;
	bool table, transcript;
	int rc;
	unsigned outstanding;
};

static void slot_fill(struct run *run, struct slot *sl, const struct verdict *v,
		      const char *transcript)
{
	sl->text = render(v, transcript, run->table, run->transcript);
	sl->ready = true;
}

/* flush_ready - print the finished verdicts that are next in order. */
static void flush_ready(struct run *run)
{
	while (run->printed < run->n && run->slots[run->printed].ready) {
		struct slot *sl = &run->slots[run->printed];
		if (sl->text == NULL) {
			fprintf(stderr, "rcptd verify: out of memory\n");
			run->rc = 1;
		} else if (run->table)
			fputs(sl->text, stdout);
		else
			puts(sl->text);
		free(sl->text);
		sl->text = NULL;
		run->printed++;
	}
	fflush(stdout);
}

struct cb_ctx {
	struct slot *slot;
	struct run *run;
};

static void on_verdict(void *data, const struct verdict *v,
		       const char *transcript)
{
	struct cb_ctx *ctx = data;

	slot_fill(ctx->run, ctx->slot, v, transcript);
	ctx->run->outstanding--;
	flush_ready(ctx->run);
}

static int verify_online(const struct config *c, const struct lists *lists,
			 char **addrs, int n)
{
	uv_loop_t loop;
	struct netpolicy policy;
	struct resolver *res = NULL;
	struct engine *eng = NULL;
	struct run run = {0};
	struct cb_ctx *ctx;
	char err[512];

	if (uv_loop_init(&loop) < 0) {
		fprintf(stderr, "rcptd verify: cannot start an event loop\n");
		return 1;
	}
	run.slots = calloc((size_t)n, sizeof(*run.slots));
	ctx = calloc((size_t)n, sizeof(*ctx));
	if (run.slots == NULL || ctx == NULL) {
		fprintf(stderr, "rcptd verify: out of memory\n");
		free(run.slots), free(ctx);
		uv_loop_close(&loop);
		return 1;
	}
	run.n = n;
	run.table = c->table;
	run.transcript = c->transcript;
	if (setup_policy(&policy, c, err, sizeof(err)) < 0 ||
	    setup_engine(&loop, c, &policy,
			 c->transcript ? DIALOG_TRANSCRIPT_MAX : 0, &res, &eng,
			 err, sizeof(err)) < 0) {
		fprintf(stderr, "rcptd verify: %s\n", err);
		run.rc = 2;
		goto done;
	}
	for (int i = 0; i < n; i++) {
		struct address a;
		struct slot *sl = &run.slots[i];
		struct verdict v;

		if (!precheck(lists, addrs[i], strlen(addrs[i]), &v, &a)) {
			v.checked_at = (int64_t)time(NULL);
			slot_fill(&run, sl, &v, NULL);
			continue;
		}
		ctx[i].slot = sl;
		ctx[i].run = &run;
		if (engine_verify(eng, &v, &a, on_verdict, &ctx[i]) < 0) {
			fprintf(stderr, "rcptd verify: out of memory\n");
			run.rc = 1;
			break;
		}
		run.outstanding++;
	}
	flush_ready(&run);
	uv_run(&loop, UV_RUN_DEFAULT); /* until every verdict is in */
done:
	if (eng)
		engine_close(eng, NULL, NULL);
	if (res)
		resolver_close(res, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT); /* let the handles close */
	flush_ready(&run);
	if (uv_loop_close(&loop) != 0)
		log_error("event loop closed with handles still open");
	for (int i = 0; i < n; i++)
		free(run.slots[i].text);
	free(run.slots);
	free(ctx);
	return run.rc;
}

int cli_verify(int argc, char **argv, char **envp)
{
	struct config c;
	struct lists lists;
	char err[512];
	int first, rc;

	rc = config_load(&c, SCOPE_VERIFY, argc, argv, envp, &first, err,
			 sizeof(err));
	if (rc != 0) {
		if (rc > 0)
			verify_usage(stdout);
		else
			fprintf(stderr, "rcptd verify: %s\n", err);
		config_release(&c);
		return rc > 0 ? 0 : 2;
	}
	if (first == argc) {
		fprintf(stderr, "rcptd verify: no address given (usage: rcptd "
				"verify [options] ADDRESS...)\n");
		config_release(&c);
		return 2;
	}
	if (log_setup(c.log_format, c.log_level) < 0) {
		fprintf(stderr,
			"rcptd verify: --log-level: '%s' is not debug, info, "
			"warn or error\n",
			c.log_level);
		config_release(&c);
		return 2;
	}
	if (listfiles_load(&lists, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcptd verify: %s\n", err);
		config_release(&c);
		return 2;
	}
	if (c.table)
		printf("%-40s %-14s %-18s %s\n", "ADDRESS", "STATUS", "REASON",
		       "FLAGS");

	if (c.offline) {
		struct slot sl = {0};
		struct run run = {.table = c.table, .slots = &sl, .n = 1};
		for (int i = first; i < argc && run.rc == 0; i++) {
			struct verdict v;
			precheck(&lists, argv[i], strlen(argv[i]), &v, NULL);
			v.checked_at = (int64_t)time(NULL);
			slot_fill(&run, &sl, &v, NULL);
			run.printed = 0;
			flush_ready(&run);
		}
		rc = run.rc;
	} else {
		setup_helo_warning(c.helo);
		rc = verify_online(&c, &lists, argv + first, argc - first);
	}
	lists_release(&lists);
	config_release(&c);
	return rc;
}
