/* netaddr: see netaddr.h. inet_pton/inet_ntop do the parsing and the
 * canonical form; this file only masks. */
#include "util/netaddr.h"

#include "util/strings.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

/* Zeroes every bit of bytes[0..length) after the first `bits`. */
static void
mask(uint8_t *bytes, size_t length, unsigned bits)
{
    for (size_t i = 0; i < length; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
        bytes[i] &= (uint8_t)(0xff00u >> keep);
    }
}

/* Writes "text/bits": 0, or -1 with out "" when it does not fit. */
static int
finish(char *out, size_t cap, const char *text, unsigned bits)
{
    if (string_format(out, cap, "%s/%u", text, bits) == 0)
        return 0;
    if (cap > 0)
        out[0] = '\0';
    return -1;
}

int
netaddr_prefix(const char *address, unsigned bits4, unsigned bits6, char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (address == NULL || bits4 > 32 || bits6 > 128)
        return -1;
    struct in_addr v4;
    struct in6_addr v6;
    char text[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, address, &v6) == 1 && !IN6_IS_ADDR_V4MAPPED(&v6)) {
        mask(v6.s6_addr, sizeof v6.s6_addr, bits6);
        if (inet_ntop(AF_INET6, &v6, text, sizeof text) == NULL)
            return -1;
        return finish(out, cap, text, bits6);
    }
    if (inet_pton(AF_INET6, address, &v6) == 1)
        memcpy(&v4, &v6.s6_addr[12], 4);
    else if (inet_pton(AF_INET, address, &v4) != 1)
        return -1;
    mask((uint8_t *)&v4, 4, bits4);
    if (inet_ntop(AF_INET, &v4, text, sizeof text) == NULL)
        return -1;
    return finish(out, cap, text, bits4);
}

/* A numeric address as family and bytes (an IPv4-mapped IPv6 one as the
 * IPv4 it is): 0 or -1. */
static int
address_bytes(const char *text, int *family, uint8_t bytes[16])
{
    struct in6_addr v6;
    memset(bytes, 0, 16);
    if (inet_pton(AF_INET6, text, &v6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&v6)) {
            *family = AF_INET;
            memcpy(bytes, &v6.s6_addr[12], 4);
        } else {
            *family = AF_INET6;
            memcpy(bytes, v6.s6_addr, 16);
        }
        return 0;
    }
    *family = AF_INET;
    return inet_pton(AF_INET, text, bytes) == 1 ? 0 : -1;
}

int
netaddr_cidr_parse(const char *text, struct netaddr_cidr *out)
{
    memset(out, 0, sizeof *out);
    char address[INET6_ADDRSTRLEN];
    const char *slash = text ? strchr(text, '/') : NULL;
    size_t length = text == NULL ? 0 : slash ? (size_t)(slash - text) : strlen(text);
    if (length == 0 || length >= sizeof address)
        return -1;
    memcpy(address, text, length);
    address[length] = '\0';
    if (address_bytes(address, &out->family, out->bytes) != 0)
        return -1;
    unsigned width = out->family == AF_INET ? 32 : 128;
    long long bits = width;
    /* A mapped IPv6 network ("::ffff:10.0.0.0/104") counts its bits from
     * the IPv6 width; out of that form it is an IPv4 one. */
    int mapped = out->family == AF_INET && strchr(address, ':') != NULL;
    if (slash != NULL &&
        parse_integer(slash + 1, mapped ? 96 : 0, mapped ? 128 : width, &bits) != 0)
        return -1;
    out->bits = (unsigned)(mapped ? bits - 96 : bits);
    uint8_t masked[16];
    memcpy(masked, out->bytes, sizeof masked);
    mask(masked, width / 8, out->bits);
    if (memcmp(masked, out->bytes, sizeof masked) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

int
netaddr_cidr_contains(const struct netaddr_cidr *networks, size_t count, const char *address)
{
    int family;
    uint8_t bytes[16];
    if (address == NULL || address_bytes(address, &family, bytes) != 0)
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (networks[i].family != family)
            continue;
        uint8_t masked[16];
        memcpy(masked, bytes, sizeof masked);
        mask(masked, family == AF_INET ? 4 : 16, networks[i].bits);
        if (memcmp(masked, networks[i].bytes, sizeof masked) == 0)
            return 1;
    }
    return 0;
}

/* Writes the canonical text of a numeric address: 0 or -1. */
static int
canonical(const char *text, char *out, size_t cap)
{
    int family;
    uint8_t bytes[16];
    char buffer[INET6_ADDRSTRLEN];
    if (address_bytes(text, &family, bytes) != 0 ||
        inet_ntop(family, bytes, buffer, sizeof buffer) == NULL)
        return -1;
    return string_copy(out, cap, buffer);
}

int
netaddr_forwarded_client(const char *peer, const char *forwarded,
                         const struct netaddr_cidr *trusted, size_t trusted_count,
                         char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (peer == NULL || canonical(peer, out, cap) != 0)
        return -1;
    size_t end = forwarded != NULL ? strlen(forwarded) : 0;
    /* Right to left, one comma-separated entry at a time. */
    while (netaddr_cidr_contains(trusted, trusted_count, out) && end > 0) {
        size_t start = end;
        while (start > 0 && forwarded[start - 1] != ',')
            start--;
        size_t from = start, to = end;
        while (from < to && (forwarded[from] == ' ' || forwarded[from] == '\t'))
            from++;
        while (to > from && (forwarded[to - 1] == ' ' || forwarded[to - 1] == '\t'))
            to--;
        char entry[INET6_ADDRSTRLEN];
        if (to - from >= sizeof entry) {
            out[0] = '\0';
            return -1;
        }
        memcpy(entry, forwarded + from, to - from);
        entry[to - from] = '\0';
        if (canonical(entry, out, cap) != 0) {
            out[0] = '\0';
            return -1;
        }
        end = start > 0 ? start - 1 : 0;
    }
    return 0;
}

void
netaddr_subscriber(const char *address, char out[NETADDR_PREFIX_MAX])
{
    if (netaddr_prefix(address, 32, 64, out, NETADDR_PREFIX_MAX) == 0)
        return;
    snprintf(out, NETADDR_PREFIX_MAX, "%s", address != NULL ? address : "");
}
