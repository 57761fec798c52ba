/* wipe_alloc: an allocator that overwrites every block before freeing it,
 * installed for cjose, jansson and OpenSSL (cjose_set_alloc_funcs sets all
 * three), so the device key's PEM, its JSON copies in the wallet and
 * OpenSSL's temporaries leave no copy in freed memory. */
#ifndef CYBERID_APP_WIPE_ALLOC_H
#define CYBERID_APP_WIPE_ALLOC_H

/* Installs the allocator. Call first thing in main, before any jansson,
 * cjose, OpenSSL or libcurl call: blocks allocated before it would be
 * freed by the wrong function. Idempotent. */
void wipe_alloc_install(void);

/* Frees (after wiping) a block returned by jansson (json_dumps) or cjose
 * (cjose_header_get_raw) once the allocator is installed; NULL is a no-op. */
void wipe_free(void *block);

#endif
