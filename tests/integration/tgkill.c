/* tgkill PID TID SIGNAL: sends a signal to one thread of a process (no
 * command does; kill(1) sends to the whole process), for the test that a
 * stop signal given to any thread of `cyberid serve` stops it cleanly. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: tgkill PID TID SIGNAL\n");
        return 2;
    }
    if (syscall(SYS_tgkill, atoi(argv[1]), atoi(argv[2]), atoi(argv[3])) != 0) {
        perror("tgkill");
        return 1;
    }
    return 0;
}
