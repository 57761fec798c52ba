/* redirect: redirect URIs with query parameters; see redirect.h. */
#include "oidc/redirect.h"

#include "oidc/text_buffer.h"

#include <string.h>

char *
redirect_build(const char *base, const struct redirect_param *params, size_t count)
{
    struct text_buffer url;
    text_buffer_init(&url);
    text_buffer_append(&url, base);
    size_t length = strlen(base);
    /* What comes before the first pair; then '&' between pairs. */
    const char *separator = strchr(base, '?') == NULL ? "?"
                            : base[length - 1] == '?' || base[length - 1] == '&'
                                ? ""
                                : "&";
    for (size_t i = 0; i < count; i++) {
        if (params[i].value == NULL)
            continue;
        text_buffer_append(&url, separator);
        text_buffer_append(&url, params[i].name);
        text_buffer_append(&url, "=");
        text_buffer_append_percent(&url, params[i].value);
        separator = "&";
    }
    return text_buffer_finish(&url, NULL);
}

char *
redirect_error(const char *redirect_uri, const char *error, const char *description,
               const char *state, const char *issuer)
{
    const struct redirect_param params[] = {
        {"error", error},
        {"error_description", description},
        {"state", state},
        {"iss", issuer},
    };
    return redirect_build(redirect_uri, params, sizeof params / sizeof *params);
}
