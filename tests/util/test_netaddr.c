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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6_by_subscriber),
        cmocka_unit_test(test_ipv4_mapped_is_ipv4),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_subscriber),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
