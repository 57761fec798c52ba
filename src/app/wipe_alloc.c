/* wipe_alloc: a size-prefixed malloc whose free wipes; see wipe_alloc.h. */
#include "app/wipe_alloc.h"

#include "util/strings.h"

#include <cjose/util.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Each block is preceded by its size, padded so the caller's pointer keeps
 * malloc's alignment. */
#define WIPE_HEADER sizeof(max_align_t)

static void *
wipe_malloc(size_t size)
{
    if (size > (size_t)-1 - WIPE_HEADER)
        return NULL;
    unsigned char *block = malloc(WIPE_HEADER + size);
    if (block == NULL)
        return NULL;
    memcpy(block, &size, sizeof(size));
    return block + WIPE_HEADER;
}

void
wipe_free(void *pointer)
{
    if (pointer == NULL)
        return;
    unsigned char *block = (unsigned char *)pointer - WIPE_HEADER;
    size_t size;
    memcpy(&size, block, sizeof(size));
    secret_wipe(block, WIPE_HEADER + size);
    free(block);
}

static void *
wipe_realloc(void *pointer, size_t size)
{
    if (pointer == NULL)
        return wipe_malloc(size);
    unsigned char *fresh = wipe_malloc(size);
    if (fresh == NULL)
        return NULL;
    size_t old;
    memcpy(&old, (unsigned char *)pointer - WIPE_HEADER, sizeof(old));
    memcpy(fresh, pointer, old < size ? old : size);
    wipe_free(pointer);
    return fresh;
}

void
wipe_alloc_install(void)
{
    static int installed;

    if (installed)
        return;
    installed = 1;
    cjose_set_alloc_funcs(wipe_malloc, wipe_realloc, wipe_free);
}
