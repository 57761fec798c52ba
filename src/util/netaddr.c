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

void
netaddr_subscriber(const char *address, char out[NETADDR_PREFIX_MAX])
{
    if (netaddr_prefix(address, 32, 64, out, NETADDR_PREFIX_MAX) == 0)
        return;
    snprintf(out, NETADDR_PREFIX_MAX, "%s", address != NULL ? address : "");
}
