/* test_job_bulk - `rcptd bulk` (daemon/cli_bulk.c) run in the test's
 * process on files in a temporary directory: the output file to the
 * octet for each kind of input (offline: the precheck alone), resuming
 * (a cut last line, a different input refused), the refusals and exit
 * statuses, and an online run interrupted by SIGINT then resumed.
 * Online runs resolve through 127.0.0.1 only: a closed port (every
 * lookup fails at once: dns_error) or a socket that never answers (a
 * lookup hangs). Check forks per test: each has its own process. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/csv.h"
#include "daemon/cli.h"

Suite *job_bulk_suite(void);

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/rcptd-bulk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void put(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	path(p, sizeof(p), name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* get - the file's text (the caller frees). */
static char *get(const char *name)
{
	char p[128];
	FILE *f;
	long n;
	char *s;

	path(p, sizeof(p), name);
	f = fopen(p, "r");
	ck_assert_msg(f != NULL, "%s missing", p);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void rm_all(void)
{
	static const char *const names[] = {"in", "out", "full", "part",
					    "other"};
	char p[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		path(p, sizeof(p), names[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* bulk - rcptd bulk with @args (NULL-terminated), IN and OUT in dir. */
static int bulk(const char *in, const char *out, const char *const *args)
{
	char ip[128], op[128], *argv[32];
	char *envp[] = {NULL};
	int n = 0;

	path(ip, sizeof(ip), in);
	path(op, sizeof(op), out);
	for (; args && *args; args++)
		argv[n++] = (char *)*args;
	argv[n++] = (char *)"--progress";
	argv[n++] = (char *)"none";
	argv[n++] = (char *)"--log-level";
	argv[n++] = (char *)"error";
	argv[n++] = (char *)"-o";
	argv[n++] = op;
	argv[n++] = ip;
	argv[n] = NULL;
	return cli_bulk(n, argv, envp);
}

#define V  ",false,false,false,,,,\n"
#define NC ",unknown,not_checked,,,false,false,false,,,,\n"

/* (input, output) with --offline */
static const struct {
	const char *name, *in, *out;
} offline[] = {
    {"header by name",
     "Name,E-Mail,Note\n\"Doe, J\",j@example.com,x\nB,bad,y\n",
     "Name,E-Mail,Note," CSV_VERDICT_COLUMNS "\n"
     "\"Doe, J\",j@example.com,x" NC
     "B,bad,y,undeliverable,invalid_syntax,address has no @," V},
    {"plain lines, a header made up",
     "a@example.com\n\n\"a,b\"@example.com\nnope\n",
     "email," CSV_VERDICT_COLUMNS "\n"
     "a@example.com" NC "\"\"\"a,b\"\"@example.com\"" NC
     "nope,undeliverable,invalid_syntax,address has no @," V},
    {"no header, the column with an @", "1,x@example.com\n2,y\n3\n",
     "column1,email," CSV_VERDICT_COLUMNS "\n"
     "1,x@example.com" NC "2,y,undeliverable,invalid_syntax,address has no @," V
     "3,,undeliverable,invalid_syntax,the line has no column 2," V},
    {"malformed lines pass through",
     "email,n\r\n\"a@example.com\"x,1\r\n\"open,2\r\nb@example.com,3\r\n",
     "email,n," CSV_VERDICT_COLUMNS "\n"
     "\"\"\"a@example.com\"\"x,1\",,undeliverable,invalid_syntax,"
     "malformed CSV line: text after the closing quote of field 1," V
     "\"\"\"open,2\",,undeliverable,invalid_syntax,malformed CSV line: "
     "a quoted field opened on this line is not closed," V
     "b@example.com,3" NC},
    {"a typo suggested (the domain is a known disposable one)",
     "email\ninfo@gmial.com\n",
     "email," CSV_VERDICT_COLUMNS "\n"
     "info@gmial.com,unknown,not_checked,,,true,false,true,"
     "info@gmail.com,,,\n"},
};

START_TEST(offline_table)
{
	static const char *const args[] = {"--offline", NULL};
	char *out;

	mkdir_tmp();
	put("in", offline[_i].in);
	ck_assert_int_eq(bulk("in", "out", args), 0);
	out = get("out");
	ck_assert_msg(strcmp(out, offline[_i].out) == 0, "%s:\n%s",
		      offline[_i].name, out);
	free(out);
	rm_all();
}
END_TEST

/* --resume: a cut last line is dropped and the rest written; a file
 * that is not this input's output is refused, untouched. */
START_TEST(resume_offline)
{
	static const char *const off[] = {"--offline", NULL};
	static const char *const res[] = {"--offline", "--resume", NULL};
	char *full, *part, *other, cut[4096];
	size_t n;

	mkdir_tmp();
	put("in", "id,email\n1,a@example.com\n2,b\n3,c@example.com\n"
		  "4,d@example.com\n");
	ck_assert_int_eq(bulk("in", "full", off), 0);
	full = get("full");
	/* the header, row 1 and half of row 2 */
	n = (size_t)(strstr(full, "\n2,b,") - full) + 8;
	memcpy(cut, full, n);
	cut[n] = '\0';
	put("part", cut);
	ck_assert_int_eq(bulk("in", "part", res), 0);
	part = get("part");
	ck_assert_str_eq(part, full);
	free(part);
	/* resuming a complete file writes nothing more */
	ck_assert_int_eq(bulk("in", "part", res), 0);
	part = get("part");
	ck_assert_str_eq(part, full);
	free(part);
	/* another list's output: refused (2), left as it was */
	put("other", "id,email," CSV_VERDICT_COLUMNS "\n1,z@example.com" NC);
	ck_assert_int_eq(bulk("in", "other", res), 2);
	other = get("other");
	ck_assert_str_eq(other, "id,email," CSV_VERDICT_COLUMNS
				"\n1,z@example.com" NC);
	free(other);
	free(full);
	rm_all();
}
END_TEST

/* Usage errors are 2, and never touch the input. */
START_TEST(refusals)
{
	static const char *const off[] = {"--offline", NULL};
	static const char *const prog[] = {"--offline", "--progress", "loud",
					   NULL};
	char ip[128], *argv[8], *envp[] = {NULL}, *in;

	mkdir_tmp();
	put("in", "a,b\nc,d\n");
	ck_assert_int_eq(bulk("in", "out", off), 2); /* no address column */
	ck_assert_int_eq(bulk("in", "in", off), 2);  /* OUT is IN */
	in = get("in");
	ck_assert_str_eq(in, "a,b\nc,d\n");
	free(in);
	ck_assert_int_eq(bulk("in", "out", prog), 2);
	path(ip, sizeof(ip), "in");
	argv[0] = (char *)"--resume";
	argv[1] = ip;
	argv[2] = NULL;
	ck_assert_int_eq(cli_bulk(2, argv, envp), 2); /* --resume, no -o */
	argv[0] = ip;
	argv[1] = ip;
	ck_assert_int_eq(cli_bulk(2, argv, envp), 2); /* two inputs */
	rm_all();
}
END_TEST

/* ---- online ------------------------------------------------------------------ */

static int silent_dns(char *server, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &salen);
	snprintf(server, len, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

static void *interrupt(void *arg)
{
	(void)arg;
	usleep(400000);
	kill(getpid(), SIGINT);
	return NULL;
}

/* SIGINT mid-run: the rows done up to the first unfinished one are
 * written, 130; --resume then finishes the file as one run would. */
START_TEST(interrupt_and_resume)
{
	char server[64], *full, *part;
	const char *hang[] = {"--dns-server", server, "--dns-timeout", "20s",
			      NULL};
	const char *refused[] = {"--dns-server", "127.0.0.1:9", NULL};
	const char *resume[] = {"--dns-server", "127.0.0.1:9", "--resume",
				NULL};
	int fd = silent_dns(server, sizeof(server));
	pthread_t t;

	mkdir_tmp();
	put("in", "email\nbad1\nbad2\nx@hang.example\nbad3\ny@hang.example\n");
	ck_assert_int_eq(bulk("in", "full", refused), 0);
	full = get("full");
	ck_assert_str_eq(
	    full, "email," CSV_VERDICT_COLUMNS "\n"
		  "bad1,undeliverable,invalid_syntax,address has no @," V
		  "bad2,undeliverable,invalid_syntax,address has no @," V
		  "x@hang.example,unknown,dns_error,,,false,false,false,,,,\n"
		  "bad3,undeliverable,invalid_syntax,address has no @," V
		  "y@hang.example,unknown,dns_error,,,false,false,false,,,,\n");
	pthread_create(&t, NULL, interrupt, NULL);
	ck_assert_int_eq(bulk("in", "part", hang), 128 + SIGINT);
	pthread_join(t, NULL);
	part = get("part");
	ck_assert_str_eq(
	    part, "email," CSV_VERDICT_COLUMNS "\n"
		  "bad1,undeliverable,invalid_syntax,address has no @," V
		  "bad2,undeliverable,invalid_syntax,address has no @," V);
	free(part);
	ck_assert_int_eq(bulk("in", "part", resume), 0);
	part = get("part");
	ck_assert_str_eq(part, full);
	free(part);
	free(full);
	close(fd);
	rm_all();
}
END_TEST

Suite *job_bulk_suite(void)
{
	Suite *s = suite_create("job_bulk");
	TCase *tc;

	tc = tcase_create("offline");
	tcase_add_loop_test(tc, offline_table, 0,
			    (int)(sizeof(offline) / sizeof(offline[0])));
	tcase_add_test(tc, resume_offline);
	tcase_add_test(tc, refusals);
	suite_add_tcase(s, tc);

	tc = tcase_create("online");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, interrupt_and_resume);
	suite_add_tcase(s, tc);
	return s;
}
