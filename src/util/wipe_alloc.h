/* wipe_alloc: an allocator that overwrites every block before freeing it,
 * installed for cjose, jansson and OpenSSL (cjose_set_alloc_funcs sets all
 * three). In the app: the device key's PEM, its JSON copies in the wallet
 * and OpenSSL's temporaries leave no copy in freed memory. In the service:
 * request bodies parsed as JSON (ID numbers, names, images in base64),
 * opened records and claims, the same. Shared by both binaries, so it is
 * util's. */
#ifndef CYBERID_UTIL_WIPE_ALLOC_H
#define CYBERID_UTIL_WIPE_ALLOC_H

/* Installs the allocator. Call first thing in main, before any jansson,
 * cjose, OpenSSL or libcurl call: blocks allocated before it would be
 * freed by the wrong function. Idempotent. */
void wipe_alloc_install(void);

/* Wipes and frees a malloc() block: one returned by jansson (json_dumps)
 * or cjose (cjose_header_get_raw) that held something personal or secret.
 * Plain free() stays valid for every block, only without the wipe. NULL
 * is a no-op. */
void wipe_free(void *block);

#endif
