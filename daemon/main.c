/* main - the rcptd command: one binary, subcommands (DESIGN.md).
 *
 *   rcptd serve [options]               the HTTP API
 *   rcptd verify [options] ADDRESS...   one JSON verdict per line
 *   rcptd bulk [options] [-o OUT] [IN]  clean a list: CSV in, CSV out
 *   rcptd relay-test [options] HOST[:PORT]  open-relay audit of a server
 *   rcptd doctor [options]              checks port 25, DNS, HELO and PTR
 *   rcptd version
 *
 * Exit statuses: 0 success; 1 a run-time failure (e.g. a probe could not
 * be started); 2 a usage or configuration error, reported in one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cli.h"

extern char **environ;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rcptd COMMAND [options] [arguments]\n"
		"\n"
		"Commands:\n"
		"  serve [options]              serve the HTTP API\n"
		"  verify [options] ADDRESS...  verify addresses, one JSON "
		"verdict per line\n"
		"  doctor [options]             check port 25, DNS, HELO/PTR, "
		"Redis, DNSBLs\n"
		"  bulk [options] [-o OUT] [IN]\n"
		"                               verify a list (CSV or one "
		"address a line),\n"
		"                               write it with verdict columns\n"
		"  relay-test [options] HOST[:PORT]\n"
		"                               open-relay audit of a mail "
		"server you run\n"
		"  version                      print the version\n"
		"  help [COMMAND]               show help\n"
		"\n"
		"'rcptd COMMAND --help' lists the options of a command.\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("rcptd %s\n", RCPTD_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		char *help[] = {"--help", NULL};
		if (argc > 2 && strcmp(argv[2], "verify") == 0)
			return cli_verify(1, help, environ);
		if (argc > 2 && strcmp(argv[2], "serve") == 0)
			return cli_serve(1, help, environ);
		if (argc > 2 && strcmp(argv[2], "bulk") == 0)
			return cli_bulk(1, help, environ);
		if (argc > 2 && strcmp(argv[2], "relay-test") == 0)
			return cli_relay_test(1, help, environ);
		if (argc > 2 && strcmp(argv[2], "doctor") == 0)
			return cli_doctor(1, help, environ);
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "serve") == 0)
		return cli_serve(argc - 2, argv + 2, environ);
	if (strcmp(cmd, "verify") == 0)
		return cli_verify(argc - 2, argv + 2, environ);
	if (strcmp(cmd, "bulk") == 0)
		return cli_bulk(argc - 2, argv + 2, environ);
	if (strcmp(cmd, "relay-test") == 0)
		return cli_relay_test(argc - 2, argv + 2, environ);
	if (strcmp(cmd, "doctor") == 0)
		return cli_doctor(argc - 2, argv + 2, environ);
	fprintf(stderr, "rcptd: unknown command '%s' (try 'rcptd help')\n",
		cmd);
	return 2;
}
