/* floor_answer: the least a keep-alive HTTP/1.1 request can cost a server
 * on this machine. One thread, one epoll loop over non-blocking loopback
 * connections; every read that brings bytes is taken as one whole request
 * (the load generator of bench/oidc/floor.sh, `ab -k`, sends one request at
 * a time on each connection and waits for its answer) and answered with
 * the same fixed JSON body as /jwks.json's size. No parsing, no routing, no
 * allocation: what remains is the kernel's part (accept, the reads, the
 * write, epoll), which any server pays, so that floor.sh can set it beside
 * the least cyberid's own requests cost. Not a server: it answers anything
 * with 200.
 *
 * usage: floor_answer PORT   (listens on 127.0.0.1:PORT until killed) */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENTS_MAX 64

static const char body[] =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"3poP7HYIODhWmXEcfZZT8xlNqqhLrWJZY_yXtRsvbRQ\","
    "\"y\":\"K49kJcy8vl6aWM743yK3Pox6YDtmxBCpjTbXyVAamFw\","
    "\"kid\":\"quGXSmEMO0KKoKPb\",\"use\":\"sig\",\"alg\":\"ES256\"}]}";

int
main(int argc, char **argv)
{
    int port = argc == 2 ? atoi(argv[1]) : 0;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: floor_answer PORT\n");
        return 2;
    }
    char answer[512];
    int answer_length = snprintf(answer, sizeof answer,
                                 "HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\n"
                                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                 sizeof body - 1, body);
    if (answer_length < 0 || (size_t)answer_length >= sizeof answer)
        return 1;
    int one = 1;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int poller = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    if (listener < 0 || poller < 0 ||
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(listener, 512) != 0 || epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event) != 0) {
        perror("floor_answer");
        return 1;
    }
    struct epoll_event events[EVENTS_MAX];
    char request[16384];
    for (;;) {
        int ready = epoll_wait(poller, events, EVENTS_MAX, -1);
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int connection;
                while ((connection = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event readable = {.events = EPOLLIN, .data.fd = connection};
                    if (setsockopt(connection, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
                        epoll_ctl(poller, EPOLL_CTL_ADD, connection, &readable) != 0)
                        close(connection);
                }
                continue;
            }
            ssize_t got = recv(fd, request, sizeof request, 0);
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0 || send(fd, answer, (size_t)answer_length, MSG_NOSIGNAL) != answer_length)
                close(fd); /* closing also takes it out of the epoll set */
        }
    }
}
