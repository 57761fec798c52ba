/* netaddr: client addresses as the limits see them. A limit that follows
 * an attacker keys on what one subscriber holds: an IPv4 address whole,
 * an IPv6 address by its /64 (a home or a phone gets a whole /64, and can
 * pick any address in it), and on the network around it (IPv4 /24, IPv6
 * /48) for the attacker who holds many. */
#ifndef CYBERID_NETADDR_H
#define CYBERID_NETADDR_H

#include <stddef.h>

/* Room for "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128". */
#define NETADDR_PREFIX_MAX 48

/* The prefix of a numeric address (IPv4 dotted quad or IPv6 text; an
 * IPv4-mapped IPv6 address counts as the IPv4 it is) as canonical text
 * "ADDRESS/BITS", host bits zero: bits4 for IPv4, bits6 for IPv6. The
 * same subscriber always gives the same text. 0, or -1 (not a numeric
 * address, a prefix length out of range, or cap too small: out is
 * then ""). */
int netaddr_prefix(const char *address, unsigned bits4, unsigned bits6, char *out,
                   size_t cap) __attribute__((warn_unused_result));

/* The subscriber key of a client address: its prefix with 32 (IPv4) or
 * 64 (IPv6) bits, or, for text that is no numeric address, the text
 * itself (cut to fit). */
void netaddr_subscriber(const char *address, char out[NETADDR_PREFIX_MAX]);

#endif
