/* netaddr: client addresses as the limits see them. A limit that follows
 * an attacker keys on what one subscriber holds: an IPv4 address whole,
 * an IPv6 address by its /64 (a home or a phone gets a whole /64, and can
 * pick any address in it), and on the network around it (IPv4 /24, IPv6
 * /48) for the attacker who holds many. */
#ifndef CYBERID_NETADDR_H
#define CYBERID_NETADDR_H

#include <stddef.h>
#include <stdint.h>

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

/* A network, as --trusted-proxy names one: "ADDRESS/BITS" or an address
 * alone (all its bits). An IPv4-mapped IPv6 address is the IPv4 it is,
 * here and in the matches below. */
struct netaddr_cidr {
    int family;                 /* AF_INET or AF_INET6 */
    uint8_t bytes[16];          /* the network, host bits zero */
    unsigned bits;
};

/* 0, or -1 when text is no such network (host bits set count as a
 * mistake: "10.0.0.1/8" most likely meant something else). */
int netaddr_cidr_parse(const char *text, struct netaddr_cidr *out)
    __attribute__((warn_unused_result));

/* Nonzero when the numeric address is in one of the count networks. */
int netaddr_cidr_contains(const struct netaddr_cidr *networks, size_t count,
                          const char *address);

/* The client behind trusted proxies. peer is the address the connection
 * comes from; forwarded the X-Forwarded-For list (all such headers joined
 * by commas, in order; NULL when none). While the address in hand is a
 * trusted proxy, the list's rightmost address not yet taken is the one
 * that proxy saw; the first that is not a trusted proxy is the client.
 * Entries to its left were written by the client and are never read.
 * Writes the client's address (canonical text) to out: 0, or -1 when an
 * entry a trusted proxy added is not a numeric address (out is then ""). */
int netaddr_forwarded_client(const char *peer, const char *forwarded,
                             const struct netaddr_cidr *trusted, size_t trusted_count,
                             char *out, size_t cap) __attribute__((warn_unused_result));

#endif
