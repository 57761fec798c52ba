/* redirect: the URLs the authorization endpoint sends the browser back to
 * (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207): a platform's registered
 * redirect URI with parameters added to its query.
 *
 * A redirect URI may already carry a query (registration allows it, never
 * a fragment): its parameters are kept and ours follow after '&'. Values
 * are percent-encoded (text_buffer_append_percent()), names are ours and
 * plain. */
#ifndef CYBERID_OIDC_REDIRECT_H
#define CYBERID_OIDC_REDIRECT_H

#include <stddef.h>

struct redirect_param {
    const char *name;
    const char *value;      /* NULL: the parameter is left out */
};

/* base, then '?' (no query yet) or '&' (a query that does not already end
 * in '?' or '&'), then name=value pairs joined by '&'. A malloc'd URL, or
 * NULL when out of memory. */
char *redirect_build(const char *base, const struct redirect_param *params,
                     size_t count);

/* An error redirect: error, error_description, state (NULL: none) and iss.
 * A malloc'd URL, or NULL when out of memory. */
char *redirect_error(const char *redirect_uri, const char *error,
                     const char *description, const char *state,
                     const char *issuer);

#endif
