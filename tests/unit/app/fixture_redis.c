/* fixture_redis - a test's own redis-server (see fixture_redis.h). */
#include "tests/unit/app/fixture_redis.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

unsigned fixture_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

redisContext *fixture_redis_open(unsigned port)
{
	struct timeval tv = {2, 0};
	redisContext *r = redisConnectWithTimeout("127.0.0.1", (int)port, tv);

	if (r && r->err) {
		redisFree(r);
		return NULL;
	}
	return r;
}

pid_t fixture_redis_start(unsigned port)
{
	char p[16];
	pid_t pid;

	snprintf(p, sizeof(p), "%u", port);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(FIXTURE_REDIS_SERVER, FIXTURE_REDIS_SERVER, "--port", p,
		      "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		redisContext *r = fixture_redis_open(port);
		if (r) {
			redisReply *rep = redisCommand(r, "PING");
			bool ok = rep && rep->type == REDIS_REPLY_STATUS;
			if (rep)
				freeReplyObject(rep);
			redisFree(r);
			if (ok)
				return pid;
		}
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_abort_msg("redis-server did not start");
	return -1;
}

void fixture_redis_stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}
