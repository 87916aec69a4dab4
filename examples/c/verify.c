/*
 * Verify a Keycloak access token with libxconnauth.
 *
 *   cc verify.c $(pkg-config --cflags --libs xconnauth) -o verify
 *   ./verify examples/keycloak/jwks.json examples/keycloak/policy.json \
 *            "$(cat examples/keycloak/token.jwt)" 1764000000
 *
 * usage: verify JWKS_FILE POLICY_FILE TOKEN|- [NOW]
 *   TOKEN "-" reads the token from stdin; NOW is unix seconds (default: the clock).
 * Prints "valid" and the claims JSON, or "invalid: <code>" with the message and the
 * WWW-Authenticate value to answer with. Exit 0 valid, 1 invalid, 2 usage or config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xconnauth.h>

static char *slurp(FILE *f, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    *len = n;
    return buf;
}

static char *read_path(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *data = slurp(f, len);
    if (f != stdin)
        fclose(f);
    return data;
}

static void print_last_error(void)
{
    char msg[512];
    size_t len;
    if (xca_last_error_message(msg, sizeof msg, &len) == XCA_OK)
        fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s JWKS_FILE POLICY_FILE TOKEN|- [NOW]\n(libxconnauth %s)\n", argv[0],
                xca_version());
        return 2;
    }
    size_t jwks_len, policy_len, token_len;
    char *jwks = read_path(argv[1], &jwks_len);
    char *policy = read_path(argv[2], &policy_len);
    char *token = strcmp(argv[3], "-") == 0 ? read_path("-", &token_len) : strdup(argv[3]);
    if (!jwks || !policy || !token)
        return 2;
    if (strcmp(argv[3], "-") != 0)
        token_len = strlen(token);
    /* A token read from a file or pipe usually ends with a newline. */
    while (token_len > 0 && (token[token_len - 1] == '\n' || token[token_len - 1] == '\r'))
        token_len--;
    int64_t now = argc == 5 ? strtoll(argv[4], NULL, 10) : -1;

    xca_verifier *v = NULL;
    xca_status s = xca_verifier_new((const uint8_t *)jwks, jwks_len, (const uint8_t *)policy, policy_len, &v);
    if (s != XCA_OK) {
        /* The message starts with the code, e.g. "invalid_config: policy: ..." */
        fprintf(stderr, "configuration error: ");
        print_last_error();
        return 2;
    }

    /* Size query first: verifies the token and tells how big the claims are. */
    size_t claims_len = 0;
    s = xca_verify(v, (const uint8_t *)token, token_len, now, NULL, 0, &claims_len);
    int rc;
    if (s == XCA_BUFFER_TOO_SMALL) {
        uint8_t *claims = malloc(claims_len);
        s = claims ? xca_verify(v, (const uint8_t *)token, token_len, now, claims, claims_len, &claims_len)
                   : XCA_BUFFER_TOO_SMALL;
        if (s == XCA_OK)
            printf("valid\n%.*s\n", (int)claims_len, (const char *)claims);
        free(claims);
    }
    if (s == XCA_OK) {
        rc = 0;
    } else if (xca_http_status(s) != 0) {
        char www[512];
        size_t www_len;
        printf("invalid: %s (HTTP %u)\n", xca_status_name(s), (unsigned)xca_http_status(s));
        print_last_error();
        if (xca_www_authenticate(s, "demo", www, sizeof www, &www_len) == XCA_OK)
            printf("WWW-Authenticate: %s\n", www);
        rc = 1;
    } else {
        fprintf(stderr, "error: ");
        print_last_error();
        rc = 2;
    }
    xca_verifier_free(v);
    free(jwks);
    free(policy);
    free(token);
    return rc;
}
