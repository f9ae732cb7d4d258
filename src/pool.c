/*
 * pool.c: the pool master, modelled on PHP-FPM's static pool.
 *
 * It binds the FastCGI socket, forks `workers` workers, restarts one that
 * dies, lets a worker retire after max_requests (it exits, a fresh one
 * replaces it), kills a worker whose request outlives request_timeout by
 * more than a grace period (the worker's own timer normally answers 504
 * first), reloads on SIGHUP (new workers first, then the old ones finish
 * their request and leave) and stops on SIGTERM or SIGINT.
 *
 * The master never opens the database: a SQLite connection must not
 * cross fork().  Start-up checks (schema version, every statement
 * prepares, every template parses) run in a short-lived child.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"

#define NSLOTS 128	/* two generations of the largest pool, during a reload */

static volatile sig_atomic_t got_chld, got_hup, got_term;
static int sigpipe_fds[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int	 saved = errno;
	char	 c = 0;
	ssize_t	 w;

	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
	w = write(sigpipe_fds[1], &c, 1);
	(void)w;
	errno = saved;
}

/* Run the start-up checks in a child so the master never opens the db. */
static int
preflight(const struct conf *c)
{
	pid_t	 pid = fork();
	int	 st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct app app;
		char	 err[1024];

		if (app_init(&app, c, err, sizeof(err)) != 0) {
			fprintf(stderr, "1000proxy: %s\n", err);
			_exit(1);
		}
		app_fini(&app);
		/* _exit() skips LeakSanitizer's exit-time check: run it. */
		px_leak_check();
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
open_listener(const struct conf *c, char *err, size_t errsz)
{
	int	 fd;

	if (strncmp(c->listen, "unix:", 5) == 0) {
		const char *path = c->listen + 5;
		struct sockaddr_un sun;
		mode_t	 omask;
		int	 rc;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun.sun_path)) {
			snprintf(err, errsz, "listen: socket path too long");
			return -1;
		}
		strcpy(sun.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/* Someone answering on the socket means a pool runs already. */
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			snprintf(err, errsz, "%s: another server is listening on this socket", path);
			return -1;
		}
		close(fd);
		unlink(path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
			snprintf(err, errsz, "socket: %s", strerror(errno));
			return -1;
		}
		/*
		 * Bind under a umask that leaves the socket closed to
		 * everyone but its owner: until chmod() below there would
		 * otherwise be a window in which any local user could
		 * reach libfcgi (which aborts on crafted records).
		 */
		omask = umask(0177);
		rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
		umask(omask);
		if (rc != 0) {
			snprintf(err, errsz, "%s: bind: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (c->socket_group && *c->socket_group) {
			struct group *g = getgrnam(c->socket_group);

			if (g == NULL || chown(path, (uid_t)-1, g->gr_gid) != 0) {
				snprintf(err, errsz, "%s: cannot give the socket to group %s", path, c->socket_group);
				close(fd);
				return -1;
			}
		}
		if (chmod(path, (mode_t)c->socket_mode) != 0) {
			snprintf(err, errsz, "%s: chmod: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	} else {
		struct sockaddr_in sin;
		char	 host[64];
		const char *colon = strrchr(c->listen, ':');
		int	 one = 1;

		if (colon == NULL || (size_t)(colon - c->listen) >= sizeof(host)) {
			snprintf(err, errsz, "listen: expected unix:/path or 127.0.0.1:port");
			return -1;
		}
		memcpy(host, c->listen, (size_t)(colon - c->listen));
		host[colon - c->listen] = '\0';
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
		    (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
			/* libfcgi aborts on crafted records: only loopback. */
			snprintf(err, errsz, "listen: %s is not a loopback address", host);
			return -1;
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
			snprintf(err, errsz, "%s: bind: %s", c->listen, strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (listen(fd, 1024) != 0) {
		snprintf(err, errsz, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Take the pid file's lock or fail: one master per pid file. */
static int
pidfile_lock(const char *path, char *err, size_t errsz)
{
	int	 fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	char	 buf[32];
	ssize_t	 n;

	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		snprintf(err, errsz, "%s: already running (pid %s)", path, strtok(buf, "\n") ? buf : "?");
		close(fd);
		return -1;
	}
	if (ftruncate(fd, 0) == 0) {
		n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
		if (write(fd, buf, (size_t)n) != n)
			snprintf(err, errsz, "%s: short write", path);
	}
	return fd;
}

struct master {
	struct conf	 conf;
	const char	*conf_path;
	int		 lfd;
	struct slot	*slots;
	int		 gen;
	double		 last_fail;	/* backoff for crash loops */
	int		 fails;
};

static void
spawn(struct master *m, int i)
{
	sigset_t term, omask;
	pid_t	 pid, master = getpid();

	/*
	 * The child starts with SIGTERM blocked, and the worker loop only
	 * takes it while it waits for a connection.  Otherwise a SIGTERM
	 * that lands before worker_run installs its handler (a reload
	 * followed at once by a stop) runs the master's handler in the
	 * child and is lost, and the worker idles in accept() until the
	 * master's SIGKILL deadline.
	 */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &omask);
	pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &omask, NULL);
		log_sys("pool", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		struct app app;
		char	 err[1024];
		int	 rc;

		close(sigpipe_fds[0]);
		close(sigpipe_fds[1]);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_DFL);	/* still blocked: stays pending */
#ifdef __linux__
		/* A master killed by SIGKILL must not leave its workers
		 * serving unsupervised; SIGTERM lets them finish first. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master)
			_exit(0);
#else
		(void)master;
#endif
		if (app_init(&app, &m->conf, err, sizeof(err)) != 0) {
			log_sys("worker", "cannot start: %s", err);
			_exit(78);
		}
		app.worker_id = i;
		app.slot = &m->slots[i];
		rc = worker_run(&app, m->lfd, &m->slots[i]);
		app_fini(&app);
		/*
		 * _exit(), not exit(): the master's atexit work is not the
		 * worker's.  It skips LeakSanitizer's exit-time check, so a
		 * sanitizer build runs it here: everything a worker made
		 * in its life must be gone by now.
		 */
		px_leak_check();
		_exit(rc);
	}
	sigprocmask(SIG_SETMASK, &omask, NULL);
	m->slots[i].pid = pid;
	m->slots[i].gen = m->gen;
	m->slots[i].busy = 0;
	m->slots[i].served = 0;
}

static int
free_slot(struct master *m)
{
	int	 i;

	for (i = 0; i < NSLOTS; i++)
		if (m->slots[i].pid == 0)
			return i;
	return -1;
}

static int
count_gen(struct master *m, int gen)
{
	int	 i, n = 0;

	for (i = 0; i < NSLOTS; i++)
		if (m->slots[i].pid != 0 && m->slots[i].gen == gen)
			n++;
	return n;
}

static void
fill(struct master *m)
{
	int	 i;

	while (count_gen(m, m->gen) < m->conf.workers && (i = free_slot(m)) >= 0)
		spawn(m, i);
}

static void
reap(struct master *m)
{
	pid_t	 pid;
	int	 st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < NSLOTS; i++)
			if (m->slots[i].pid == pid)
				break;
		if (i == NSLOTS)
			continue;
		if (WIFSIGNALED(st))
			log_sys("pool", "worker %d killed by signal %d%s%s", (int)pid, WTERMSIG(st),
			    m->slots[i].busy ? " during request " : "",
			    m->slots[i].busy ? m->slots[i].id : "");
		else if (WEXITSTATUS(st) == 3 && m->slots[i].id[0] == '\0')
			log_sys("pool", "worker %d timed out waiting for a request's parameters; "
			    "replacing it", (int)pid);
		else if (WEXITSTATUS(st) == 3)
			log_sys("pool", "worker %d timed out on request %s %s; replacing it", (int)pid,
			    m->slots[i].id, m->slots[i].path);
		else if (WEXITSTATUS(st) != 0)
			log_sys("pool", "worker %d exited with status %d", (int)pid, WEXITSTATUS(st));
		if ((WIFSIGNALED(st) || WEXITSTATUS(st) == 78) && m->slots[i].gen == m->gen) {
			double t = now_mono();

			m->fails = (t - m->last_fail < 1.0) ? m->fails + 1 : 0;
			m->last_fail = t;
		}
		m->slots[i].pid = 0;
		m->slots[i].busy = 0;
	}
}

/* Kill workers whose request outlived the timeout plus a grace period:
 * the worker's own SIGALRM should have answered 504 already. */
static void
watchdog(struct master *m)
{
	double	 t = now_mono();
	int	 i;

	for (i = 0; i < NSLOTS; i++)
		if (m->slots[i].pid != 0 && m->slots[i].busy &&
		    t - m->slots[i].started > (double)m->conf.request_timeout + 5.0) {
			log_sys("pool", "worker %d stuck on request %s %s; killing it",
			    (int)m->slots[i].pid, m->slots[i].id[0] ? m->slots[i].id : "-",
			    m->slots[i].path);
			kill(m->slots[i].pid, SIGKILL);
		}
}

static void
reload(struct master *m)
{
	struct conf nc;
	char	 err[1024];
	int	 i, old = m->gen;

	/*
	 * The log first, at the path in force: logrotate's postrotate
	 * reloads after moving the file, and a reload refused below (a
	 * configuration broken since the start) must still leave the
	 * rotated file.  New workers inherit the new descriptor; the old
	 * ones write their last request's line to the rotated file.
	 */
	if (log_open(m->conf.log_file) != 0)
		log_sys("pool", "cannot reopen log %s: %s", m->conf.log_file, strerror(errno));
	if (conf_load(&nc, m->conf_path, err, sizeof(err)) != 0) {
		log_sys("pool", "reload refused: %s", err);
		return;
	}
	if (strcmp(nc.listen, m->conf.listen) != 0)
		log_sys("pool", "reload: listen changed; a restart is needed to move the socket");
	if (preflight(&nc) != 0) {
		log_sys("pool", "reload refused: the new configuration does not start");
		conf_free(&nc);
		return;
	}
	free(nc.listen);
	nc.listen = xstrdup(m->conf.listen);
	conf_free(&m->conf);
	m->conf = nc;
	if (log_open(m->conf.log_file) != 0)
		log_sys("pool", "cannot open log %s: %s", m->conf.log_file, strerror(errno));
	if (log_syslog_to(m->conf.log_syslog ? m->conf.log_syslog_socket : NULL) != 0)
		log_sys("pool", "log_syslog_socket %s: path too long", m->conf.log_syslog_socket);
	/* New workers first; the old ones finish their request and leave. */
	m->gen++;
	fill(m);
	for (i = 0; i < NSLOTS; i++)
		if (m->slots[i].pid != 0 && m->slots[i].gen == old)
			kill(m->slots[i].pid, SIGTERM);
	log_sys("pool", "reloaded: generation %d with %lld workers", m->gen, (long long)m->conf.workers);
}

static void
shutdown_all(struct master *m)
{
	double	 deadline = now_mono() + (double)m->conf.request_timeout + 2.0;
	int	 i, alive;

	for (i = 0; i < NSLOTS; i++)
		if (m->slots[i].pid != 0)
			kill(m->slots[i].pid, SIGTERM);
	for (;;) {
		reap(m);
		for (alive = 0, i = 0; i < NSLOTS; i++)
			alive += m->slots[i].pid != 0;
		if (alive == 0)
			break;
		if (now_mono() > deadline) {
			for (i = 0; i < NSLOTS; i++)
				if (m->slots[i].pid != 0)
					kill(m->slots[i].pid, SIGKILL);
		}
		usleep(20000);
	}
}

int
pool_serve(const char *conf_path, int foreground)
{
	struct master m;
	struct sigaction sa;
	char	 err[1024];
	int	 pidfd;

	(void)foreground;
	memset(&m, 0, sizeof(m));
	m.conf_path = conf_path;
	if (conf_load(&m.conf, conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	if (log_open(m.conf.log_file) != 0) {
		fprintf(stderr, "1000proxy: %s: cannot open log file\n", m.conf.log_file);
		conf_free(&m.conf);
		return 1;
	}
	/* syslog too (log.c): the workers inherit it. */
	if (log_syslog_to(m.conf.log_syslog ? m.conf.log_syslog_socket : NULL) != 0) {
		fprintf(stderr, "1000proxy: log_syslog_socket %s: path too long\n", m.conf.log_syslog_socket);
		conf_free(&m.conf);
		return 1;
	}
	if ((pidfd = pidfile_lock(m.conf.pid_file, err, sizeof(err))) < 0) {
		fprintf(stderr, "1000proxy: %s\n", err);
		conf_free(&m.conf);
		return 1;
	}
	if (preflight(&m.conf) != 0) {
		fprintf(stderr, "1000proxy: refusing to serve (see above)\n");
		goto fail;
	}
	if ((m.lfd = open_listener(&m.conf, err, sizeof(err))) < 0) {
		fprintf(stderr, "1000proxy: %s\n", err);
		goto fail;
	}
	m.slots = mmap(NULL, NSLOTS * sizeof(struct slot), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m.slots == MAP_FAILED) {
		fprintf(stderr, "1000proxy: mmap: %s\n", strerror(errno));
		close(m.lfd);
		goto fail;
	}
	memset(m.slots, 0, NSLOTS * sizeof(struct slot));
	if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_sys("pool", "serving on %s with %lld workers", m.conf.listen, (long long)m.conf.workers);
	fill(&m);
	while (!got_term) {
		struct pollfd pfd = { sigpipe_fds[0], POLLIN, 0 };
		char	 drain[64];

		poll(&pfd, 1, 500);
		while (read(sigpipe_fds[0], drain, sizeof(drain)) > 0)
			;
		if (got_chld) {
			got_chld = 0;
			reap(&m);
		}
		if (got_hup) {
			got_hup = 0;
			reload(&m);
		}
		watchdog(&m);
		if (got_term)
			break;
		/* A crash loop (a worker dying at once, again and again)
		 * is slowed down instead of forking as fast as possible. */
		if (m.fails > 5 && now_mono() - m.last_fail < 2.0)
			continue;
		fill(&m);
	}
	log_sys("pool", "stopping");
	shutdown_all(&m);
	if (strncmp(m.conf.listen, "unix:", 5) == 0)
		unlink(m.conf.listen + 5);
	close(m.lfd);
	unlink(m.conf.pid_file);
	close(pidfd);
	conf_free(&m.conf);
	return 0;

fail:
	/* Refused before serving: leave no pid file behind. */
	unlink(m.conf.pid_file);
	close(pidfd);
	conf_free(&m.conf);
	return 1;
}
