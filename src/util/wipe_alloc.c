/* wipe_alloc: a malloc whose free wipes; see wipe_alloc.h.
 *
 * The blocks are plain malloc() blocks and the size to wipe is what
 * malloc_usable_size() reports (glibc; AddressSanitizer intercepts it too),
 * rather than a size header in front of each block: a block that jansson,
 * cjose or OpenSSL allocated may then still be released with plain free()
 * by code that does not know where it came from (only that one is not
 * wiped), where a header would make such a free() corrupt the heap. */
#include "util/wipe_alloc.h"

#include "util/strings.h"

#include <cjose/util.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static void *
wipe_malloc(size_t size)
{
    return malloc(size);
}

void
wipe_free(void *block)
{
    if (block == NULL)
        return;
    secret_wipe(block, malloc_usable_size(block));
    free(block);
}

/* realloc() may move the block and free the old one unwiped: move it by
 * hand. */
static void *
wipe_realloc(void *block, size_t size)
{
    if (block == NULL)
        return malloc(size);
    void *fresh = malloc(size);
    if (fresh == NULL)
        return NULL;
    size_t old = malloc_usable_size(block);
    memcpy(fresh, block, old < size ? old : size);
    wipe_free(block);
    return fresh;
}

void
wipe_alloc_install(void)
{
    static int installed;

    if (installed)
        return;
    installed = 1;
    /* cjose passes the three on to jansson and OpenSSL. */
    cjose_set_alloc_funcs(wipe_malloc, wipe_realloc, wipe_free);
}
