/* platform: registration of the relying parties (platforms) that log
 * citizens in through cyberid.
 *
 * Rules enforced here, for every way a platform gets registered:
 * - redirect URIs are absolute, exact-match, https (plain http only for
 *   loopback hosts: 127.0.0.0/8, [::1], localhost), with no fragment and no
 *   user info;
 * - claims come from the closed list PLATFORM_CLAIMS; `name` and
 *   `national_id` need a legal basis (the statutory ground for the platform
 *   to receive plaintext identity data), and by default a platform gets only
 *   `realname_verified`;
 * - the sector identifier (which pairwise subjects derive from) is the
 *   platform itself ("client:<client_id>") unless the operator registers
 *   it into another platform's sector (sector_of), names a sector for a
 *   group (sector_id), or the platform proves its URIs with a
 *   sector_identifier_uri (OIDC Core 8.1: a JSON array listing every
 *   redirect URI; the sector is then that URI's host): two platforms on
 *   one host (mini-programs, tenants) never share subjects by default.
 *   Platforms registered before keep the sector stored with them, so
 *   their subjects do not change;
 * - client_secret_basic platforms get a random secret shown once and stored
 *   only as its SHA-256; private_key_jwt platforms give a JWKS instead;
 * - a FAPI 2.0 platform (fapi2) authenticates with private_key_jwt (its
 *   JWKS holding EC P-256 or RSA keys, used with ES256 or PS256) and has no
 *   refresh reuse interval. */
#ifndef CYBERID_PLATFORM_H
#define CYBERID_PLATFORM_H

#include "store/store.h"

#include <jansson.h>
#include <stddef.h>

#define PLATFORM_NAME_MAX_BYTES 200
#define PLATFORM_REDIRECT_URIS_MAX 10
#define PLATFORM_URI_MAX_BYTES 2000
#define PLATFORM_LEGAL_BASIS_MAX_BYTES 1000
#define PLATFORM_JWKS_MAX_BYTES 65536
#define PLATFORM_SECRET_BYTES 32

#define PLATFORM_AUTH_SECRET_BASIC "client_secret_basic"
#define PLATFORM_AUTH_PRIVATE_KEY_JWT "private_key_jwt"

/* Every claim a platform may be registered for. */
extern const char *const PLATFORM_CLAIMS[];
extern const size_t PLATFORM_CLAIM_COUNT;

struct platform_spec {
    const char *name;
    const char *redirect_uris[PLATFORM_REDIRECT_URIS_MAX];
    size_t redirect_uri_count;
    const char *claims;         /* comma-separated, NULL: the default */
    const char *legal_basis;    /* NULL when none */
    const char *purpose;        /* what it asks for, shown to citizens; NULL */
    /* Seconds a rotated refresh token may be presented again (parallel
     * refreshes of a confidential client), 0 to PLATFORM_REFRESH_REUSE_MAX;
     * 0: a second use is a replay and ends the grant. */
    long long refresh_reuse;
    /* Held to the FAPI 2.0 Security Profile: PAR required, DPoP-bound
     * codes and tokens, private_key_jwt with ES256 or PS256 only, no
     * refresh reuse interval. */
    int fapi2;
    const char *auth_method;    /* NULL: client_secret_basic */
    const char *jwks;           /* JWKS JSON text for private_key_jwt */
    /* At most one of these three; none: the platform's own sector. */
    const char *sector_id;      /* a sector the operator names for a group */
    const char *sector_of;      /* the client id whose sector it joins */
    const char *sector_identifier_uri; /* https (or loopback http) URL... */
    const char *sector_uris;    /* ...and the JSON document fetched from it */
};
#define PLATFORM_SECTOR_DOCUMENT_MAX_BYTES 65536
#define PLATFORM_REFRESH_REUSE_MAX 60

/* Validates a redirect URI. Returns 0, or -1 with the reason in err. On
 * success, when host is not NULL, copies the URI's host into it. */
int platform_check_redirect_uri(const char *uri, char *host, size_t host_cap,
                                char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Registers a platform (and its audit event) in one transaction. On
 * success *result is a JSON object: client_id, client_secret (only for
 * client_secret_basic, shown this once), and the registration as stored.
 * Returns 0, or -1 with err (invalid spec or database error). */
int platform_add(struct store_conn *conn, const struct platform_spec *spec,
                 json_t **result, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* All platforms as a JSON array (no secrets). 0 or -1. */
int platform_list(struct store_conn *conn, json_t **result, char *err,
                  size_t errlen) __attribute__((warn_unused_result));

/* Disables (disabled=1) or re-enables a platform, with its audit event.
 * Returns 0, or -1 with err (unknown client_id included). */
int platform_set_disabled(struct store_conn *conn, const char *client_id,
                          int disabled, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The registration of one platform as JSON (no secret hash). */
json_t *platform_to_json(const struct store_platform *platform);

#endif
