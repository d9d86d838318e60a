/* measure: run one command, report its wall time and peak RSS.
 *
 *   measure [-i IN] [-o OUT] [-e ERR] [-t SECONDS] -- COMMAND [ARG...]
 *
 * Standard input, output and error of COMMAND are redirected to the given
 * files (default: /dev/null for all three).  On completion one line goes to
 * our stdout:
 *
 *   <wall_ms> <maxrss_kib> <status>
 *
 * wall_ms is CLOCK_MONOTONIC from just before fork to just after wait4;
 * maxrss_kib is ru_maxrss of the child as returned by wait4; status is the
 * exit code, or 128+signal when the child was killed.  With -t, a child
 * still running after SECONDS is killed (SIGKILL) and status is "timeout".  measure itself exits
 * 0 whenever it could run the command (the caller judges the status) and
 * 127 when it could not.
 *
 * Build: cc -O2 -o measure measure.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    if (child > 0) kill(child, SIGKILL);
}

static void usage(void)
{
    fprintf(stderr, "usage: measure [-i IN] [-o OUT] [-e ERR] [-t SECONDS] -- COMMAND [ARG...]\n");
    exit(127);
}

static void redirect(const char *path, int fd, int flags)
{
    int f = open(path, flags, 0644);
    if (f < 0) {
        fprintf(stderr, "measure: %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    if (f != fd) {
        dup2(f, fd);
        close(f);
    }
}

int main(int argc, char **argv)
{
    const char *in = "/dev/null", *out = "/dev/null", *err = "/dev/null";
    unsigned timeout = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) { i++; break; }
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "-i") == 0) in = argv[++i];
        else if (strcmp(argv[i], "-o") == 0) out = argv[++i];
        else if (strcmp(argv[i], "-e") == 0) err = argv[++i];
        else if (strcmp(argv[i], "-t") == 0) timeout = (unsigned)strtoul(argv[++i], NULL, 10);
        else usage();
    }
    if (i >= argc) usage();

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 127;
    }
    if (pid == 0) {
        redirect(in, 0, O_RDONLY);
        redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
        redirect(err, 2, O_WRONLY | O_CREAT | O_TRUNC);
        execvp(argv[i], argv + i);
        dprintf(2, "measure: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    child = pid;
    if (timeout) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, NULL);
        alarm(timeout);
    }
    int status;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("measure: wait4");
            return 127;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    alarm(0);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status)
             : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
    if (timed_out)
        printf("%.3f %ld timeout\n", ms, (long)ru.ru_maxrss);
    else
        printf("%.3f %ld %d\n", ms, (long)ru.ru_maxrss, code);
    return 0;
}
