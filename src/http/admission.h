/* admission: what the HTTP server lets in, so that nobody can exhaust it:
 * connections per address, and the bytes of request bodies held in
 * memory at once. Private to the http module. Thread-safe. */
#ifndef CYBERID_HTTP_ADMISSION_H
#define CYBERID_HTTP_ADMISSION_H

#include <stddef.h>
#include <sys/socket.h>

struct admission;

/* per_address: open connections one address may hold (an IPv6 address
 * counts by its /64, which one subscriber usually holds whole);
 * body_budget: bytes of request bodies all connections may hold at once.
 * NULL on failure. */
struct admission *admission_new(unsigned per_address, size_t body_budget);
void admission_free(struct admission *admission);

/* Takes one of this address's connection slots: 1, or 0 (nothing taken)
 * when it holds them all. The check and the count are one step, so that
 * connections accepted at once by several threads cannot all pass it.
 * Every slot taken is given back once with admission_disconnected(). */
int admission_connect(struct admission *admission, const struct sockaddr *address);
void admission_disconnected(struct admission *admission, const struct sockaddr *address);

/* Reserves bytes of the body budget: 0, or -1 (nothing reserved) when it
 * would go past it. Every reservation is released once. */
int admission_reserve(struct admission *admission, size_t bytes);
void admission_release(struct admission *admission, size_t bytes);

#endif
