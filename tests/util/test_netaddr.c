/* netaddr: prefixes of client addresses, the keys of per-address limits. */
#include "util/netaddr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void
expect_prefix(const char *address, unsigned bits4, unsigned bits6, const char *want)
{
    char out[NETADDR_PREFIX_MAX];
    assert_int_equal(netaddr_prefix(address, bits4, bits6, out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void
test_ipv4(void **state)
{
    (void)state;
    expect_prefix("203.0.113.77", 32, 64, "203.0.113.77/32");
    expect_prefix("203.0.113.77", 24, 48, "203.0.113.0/24");
    expect_prefix("203.0.113.77", 20, 48, "203.0.112.0/20");
    expect_prefix("203.0.113.77", 0, 48, "0.0.0.0/0");
}

static void
test_ipv6_by_subscriber(void **state)
{
    (void)state;
    /* Every address of one /64 is one subscriber, written one way. */
    expect_prefix("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 32, 64, "2001:db8:1:2::/64");
    expect_prefix("2001:0DB8:0001:0002::1", 32, 64, "2001:db8:1:2::/64");
    expect_prefix("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 24, 48, "2001:db8:1::/48");
    expect_prefix("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 24, 60, "2001:db8:1::/60");
    expect_prefix("2001:db8:1:2f:aaaa::", 24, 60, "2001:db8:1:20::/60");
    expect_prefix("::1", 32, 128, "::1/128");
}

static void
test_ipv4_mapped_is_ipv4(void **state)
{
    (void)state;
    /* A dual-stack socket reports IPv4 clients this way: the same client
     * must not get a second key. */
    expect_prefix("::ffff:198.51.100.9", 32, 64, "198.51.100.9/32");
    expect_prefix("::ffff:198.51.100.9", 24, 48, "198.51.100.0/24");
}

static void
test_refuses(void **state)
{
    (void)state;
    char out[NETADDR_PREFIX_MAX] = "x";
    const char *bad[] = {"", "localhost", "1.2.3", "1.2.3.4/24", "1.2.3.4 ", "::g",
                         "fe80::1%eth0", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(netaddr_prefix(bad[i], 32, 64, out, sizeof out), -1);
        assert_string_equal(out, "");
    }
    assert_int_equal(netaddr_prefix("1.2.3.4", 33, 64, out, sizeof out), -1);
    assert_int_equal(netaddr_prefix("::1", 32, 129, out, sizeof out), -1);
    char small[8];
    assert_int_equal(netaddr_prefix("203.0.113.77", 32, 64, small, sizeof small), -1);
    assert_string_equal(small, "");
}

static void
test_subscriber(void **state)
{
    (void)state;
    char out[NETADDR_PREFIX_MAX];
    netaddr_subscriber("2001:db8:1:2:3:4:5:6", out);
    assert_string_equal(out, "2001:db8:1:2::/64");
    netaddr_subscriber("192.0.2.1", out);
    assert_string_equal(out, "192.0.2.1/32");
    netaddr_subscriber("", out);
    assert_string_equal(out, "");
    netaddr_subscriber("unix:/run/cyberid.sock-with-a-long-name-that-does-not-fit-here", out);
    assert_int_equal(strlen(out), NETADDR_PREFIX_MAX - 1);
}

static void
test_cidr(void **state)
{
    (void)state;
    struct netaddr_cidr nets[4];
    assert_int_equal(netaddr_cidr_parse("10.0.0.0/8", &nets[0]), 0);
    assert_int_equal(netaddr_cidr_parse("2001:db8:aa::/48", &nets[1]), 0);
    assert_int_equal(netaddr_cidr_parse("192.0.2.7", &nets[2]), 0);
    assert_int_equal(netaddr_cidr_parse("::ffff:172.16.0.0/108", &nets[3]), 0);
    assert_int_equal(nets[3].family, nets[0].family);
    assert_int_equal(nets[3].bits, 12);
    assert_true(netaddr_cidr_contains(nets, 4, "10.255.1.2"));
    assert_true(netaddr_cidr_contains(nets, 4, "::ffff:10.1.2.3"));
    assert_true(netaddr_cidr_contains(nets, 4, "2001:db8:aa:ffff::1"));
    assert_true(netaddr_cidr_contains(nets, 4, "192.0.2.7"));
    assert_true(netaddr_cidr_contains(nets, 4, "172.31.255.255"));
    assert_false(netaddr_cidr_contains(nets, 4, "172.32.0.0"));
    assert_false(netaddr_cidr_contains(nets, 4, "192.0.2.8"));
    assert_false(netaddr_cidr_contains(nets, 4, "11.0.0.1"));
    assert_false(netaddr_cidr_contains(nets, 4, "2001:db8:ab::1"));
    assert_false(netaddr_cidr_contains(nets, 4, "not an address"));
    assert_false(netaddr_cidr_contains(nets, 0, "10.0.0.1"));
    struct netaddr_cidr all;
    assert_int_equal(netaddr_cidr_parse("0.0.0.0/0", &all), 0);
    assert_true(netaddr_cidr_contains(&all, 1, "203.0.113.1"));
    assert_false(netaddr_cidr_contains(&all, 1, "::1"));

    const char *bad[] = {"", "/8", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
                         "10.0.0.0/8x", "2001:db8::/129", "::ffff:10.0.0.0/95", "host/8",
                         "1.2.3.4 /32", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct netaddr_cidr out = {.bits = 7};
        assert_int_equal(netaddr_cidr_parse(bad[i], &out), -1);
        assert_int_equal(out.bits, 0);
    }
}

static void
expect_client(const char *peer, const char *forwarded, const char *want)
{
    struct netaddr_cidr trusted[2];
    assert_int_equal(netaddr_cidr_parse("127.0.0.0/8", &trusted[0]), 0);
    assert_int_equal(netaddr_cidr_parse("fd00::/8", &trusted[1]), 0);
    char out[64] = "x";
    assert_int_equal(netaddr_forwarded_client(peer, forwarded, trusted, 2, out, sizeof out),
                     want != NULL ? 0 : -1);
    assert_string_equal(out, want != NULL ? want : "");
}

static void
test_forwarded_client(void **state)
{
    (void)state;
    /* An untrusted peer is the client, whatever it claims. */
    expect_client("203.0.113.5", "198.51.100.1", "203.0.113.5");
    expect_client("203.0.113.5", "garbage", "203.0.113.5");
    /* A trusted proxy: the address it saw. No header: the proxy. */
    expect_client("127.0.0.1", "198.51.100.1", "198.51.100.1");
    expect_client("127.0.0.1", NULL, "127.0.0.1");
    expect_client("::ffff:127.0.0.1", "198.51.100.1", "198.51.100.1");
    /* What the client wrote itself, left of what the proxy added, is
     * never read, even when it is not an address. */
    expect_client("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1");
    expect_client("127.0.0.1", "not, an address,198.51.100.1", "198.51.100.1");
    /* Through a chain of trusted proxies, to the first untrusted hop. */
    expect_client("127.0.0.1", "6.6.6.6, 2001:DB8::7, fd00::1 ,127.0.0.9", "2001:db8::7");
    expect_client("127.0.0.1", "127.0.0.2,127.0.0.3", "127.0.0.2");
    /* A trusted hop that forwarded something that is not an address. */
    expect_client("127.0.0.1", "198.51.100.1, unknown", NULL);
    expect_client("127.0.0.1", "198.51.100.1,", NULL);
    expect_client("127.0.0.1", "", "127.0.0.1"); /* empty: as none */
    expect_client("127.0.0.1", "198.51.100.1:4711", NULL);
    expect_client("not a peer", "198.51.100.1", NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6_by_subscriber),
        cmocka_unit_test(test_ipv4_mapped_is_ipv4),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_subscriber),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_forwarded_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
