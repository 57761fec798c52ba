/* store_keys: the token-signing keys' table (kid, activation time); see
 * store.h ("Token-signing keys"). */
#include "store/store.h"

#include "store/config_cache.h"
#include "store/store_internal.h"
#include "util/strings.h"

int
store_token_key_insert(struct store_conn *conn, const struct store_token_key *key)
{
    struct store_value params[] = {
        v_text(key->kid), v_integer(key->created_at), v_integer(key->activates_at),
        key->public_key_length ? v_blob(key->public_key, key->public_key_length)
                               : v_null(),
    };
    if (exec(conn,
             "INSERT INTO token_key (kid, created_at, activates_at, public_key)"
             " VALUES ($1, $2, $3, $4)",
             params, sizeof params / sizeof *params, NULL, NULL, NULL) != 0)
        return -1;
    return store_config_changed(conn);
}

/* The rows as read, in a growing array. */
struct key_rows {
    struct store_token_key *keys;
    size_t count, capacity;
};

static int
read_key(void *context, const struct store_value *columns, size_t count)
{
    struct key_rows *rows = context;
    if (rows->count == rows->capacity) {
        size_t capacity = rows->capacity ? rows->capacity * 2 : 8;
        struct store_token_key *grown = realloc(rows->keys, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        rows->keys = grown;
        rows->capacity = capacity;
    }
    struct store_token_key *key = &rows->keys[rows->count];
    memset(key, 0, sizeof *key);
    if (count != 4 || columns[1].type != STORE_VALUE_INTEGER ||
        columns[2].type != STORE_VALUE_INTEGER ||
        column_text_into(&columns[0], key->kid, sizeof key->kid) != 0)
        return -1;
    key->created_at = columns[1].integer;
    key->activates_at = columns[2].integer;
    if (columns[3].type == STORE_VALUE_BLOB) {
        if (columns[3].length == 0 || columns[3].length > sizeof key->public_key)
            return -1;
        memcpy(key->public_key, columns[3].data, columns[3].length);
        key->public_key_length = columns[3].length;
    }
    rows->count++;
    return 0;
}

int
store_token_key_each(struct store_conn *conn,
                     int (*each)(void *context, const struct store_token_key *),
                     void *context)
{
    struct key_rows rows = {0};
    uint64_t generation = 0;
    /* Every ID token signed asks which key signs: kept in memory by a
     * serve (config_cache.h), like the platforms. */
    int kept = conn->cache != NULL &&
               config_cache_keys_get(conn->cache, &rows.keys, &rows.count, &generation);
    if (!kept) {
        int rc = exec(conn,
                      "SELECT kid, created_at, activates_at, public_key FROM token_key"
                      " ORDER BY activates_at, created_at, kid",
                      NULL, 0, read_key, &rows, NULL);
        if (rc < 0) {
            if (conn->error[0] == '\0')
                error_set(conn->error, sizeof conn->error, "malformed token_key row");
            free(rows.keys);
            return -1;
        }
        if (store_cache_keeps(conn, &generation))
            config_cache_keys_put(conn->cache, rows.keys, rows.count, generation);
    }
    int rc = 0;
    for (size_t i = 0; i < rows.count && rc == 0; i++)
        rc = each(context, &rows.keys[i]);
    free(rows.keys);
    return rc;
}
