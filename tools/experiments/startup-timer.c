// Times whole processes, start to exit, for tools/experiments/measure-startup: each round runs every
// command once (output to /dev/null), interleaved so all see the same machine load, and
// prints each command's median wall time and its ratio to the first command's, and the
// mean CPU time (user + system) the process used, which other load disturbs less (the
// kernel may count it in whole ticks, so only its mean over many rounds means something).
//
//     startup-timer ROUNDS CMD [ARGS...] -- CMD [ARGS...] -- ...
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: startup-timer ROUNDS CMD [ARGS...] [-- CMD [ARGS...]]...\n");
        return 2;
    }
    int rounds = atoi(argv[1]);
    char **commands[64];
    int count = 0;
    commands[count++] = argv + 2;
    for (int i = 2; i < argc && count < 64; i++) {
        if (strcmp(argv[i], "--") == 0) {
            argv[i] = NULL;
            if (i + 1 < argc) commands[count++] = argv + i + 1;
        }
    }
    double *times = calloc((size_t)rounds * count, sizeof(double));
    double *cpu = calloc((size_t)rounds * count, sizeof(double));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    for (int round = 0; round < rounds; round++) {
        for (int c = 0; c < count; c++) {
            double start = now();
            pid_t pid;
            if (posix_spawn(&pid, commands[c][0], &actions, NULL, commands[c], environ) != 0) {
                fprintf(stderr, "startup-timer: cannot run %s\n", commands[c][0]);
                return 1;
            }
            int status;
            struct rusage usage;
            wait4(pid, &status, 0, &usage);
            times[c * rounds + round] = now() - start;
            cpu[c * rounds + round] = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6
                + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec * 1e-6;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "startup-timer: %s failed\n", commands[c][0]);
                return 1;
            }
        }
    }
    double base = 0, cpu_base = 0;
    printf("   wall (median)     CPU (mean)\n");
    for (int c = 0; c < count; c++) {
        double *t = times + c * rounds, *u = cpu + c * rounds;
        qsort(t, rounds, sizeof(double), compare);
        double median = t[rounds / 2], cpu_mean = 0;
        for (int i = 0; i < rounds; i++) cpu_mean += u[i] / rounds;
        if (c == 0) base = median, cpu_base = cpu_mean;
        printf("%7.3f ms %5.1fx  %7.3f ms %5.1fx  ", median * 1e3, median / base, cpu_mean * 1e3,
            cpu_mean / cpu_base);
        for (char **a = commands[c]; *a; a++) printf("%s ", *a);
        printf("\n");
    }
    return 0;
}
