/* store_keys: the token-signing keys' table (kid, activation time); see
 * store.h ("Token-signing keys"). */
#include "store/store.h"

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
    return exec(conn,
                "INSERT INTO token_key (kid, created_at, activates_at, public_key)"
                " VALUES ($1, $2, $3, $4)",
                params, sizeof params / sizeof *params, NULL, NULL, NULL);
}

struct key_walk {
    int (*each)(void *context, const struct store_token_key *);
    void *context;
};

static int
read_key(void *context, const struct store_value *columns, size_t count)
{
    struct key_walk *walk = context;
    struct store_token_key key;
    memset(&key, 0, sizeof key);
    if (count != 4 || columns[1].type != STORE_VALUE_INTEGER ||
        columns[2].type != STORE_VALUE_INTEGER ||
        column_text_into(&columns[0], key.kid, sizeof key.kid) != 0)
        return -1;
    key.created_at = columns[1].integer;
    key.activates_at = columns[2].integer;
    if (columns[3].type == STORE_VALUE_BLOB) {
        if (columns[3].length == 0 || columns[3].length > sizeof key.public_key)
            return -1;
        memcpy(key.public_key, columns[3].data, columns[3].length);
        key.public_key_length = columns[3].length;
    }
    return walk->each(walk->context, &key);
}

int
store_token_key_each(struct store_conn *conn,
                     int (*each)(void *context, const struct store_token_key *),
                     void *context)
{
    struct key_walk walk = {each, context};
    int rc = exec(conn,
                  "SELECT kid, created_at, activates_at, public_key FROM token_key"
                  " ORDER BY activates_at, created_at, kid",
                  NULL, 0, read_key, &walk, NULL);
    if (rc < 0 && conn->error[0] == '\0')
        error_set(conn->error, sizeof conn->error, "malformed token_key row");
    return rc;
}
