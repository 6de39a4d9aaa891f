/* cli - the subcommands' entry points. Each takes the arguments after the
 * subcommand's name and the environment, and returns the exit status. */
#ifndef RCPTD_DAEMON_CLI_H
#define RCPTD_DAEMON_CLI_H

int cli_serve(int argc, char **argv, char **envp);
int cli_verify(int argc, char **argv, char **envp);
int cli_relay_test(int argc, char **argv, char **envp);
int cli_bulk(int argc, char **argv, char **envp);
int cli_doctor(int argc, char **argv, char **envp);

#endif
