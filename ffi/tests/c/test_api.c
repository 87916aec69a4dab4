/*
 * The C API from C: every status code that the example realm can produce, NULL and
 * garbage arguments, too-small buffers, the last-error message, the HTTP helpers.
 *
 * usage: test_api EXAMPLES_DIR   (the repo's examples/keycloak)
 *
 * XCA_NOT_YET_VALID needs a token with `nbf`, which the example realm does not
 * have; the corpus driver (corpus_ctypes.py) reaches it with the dev vectors.
 */
#include "common.h"

#define NOW 1764000000LL
#define ISSUER "https://sso.example.com/realms/demo"
#define KID "axxZI6gTmiL25UHJqyv5Ng7l6jk40vgF6A0mbMYHaOU"
#define BASE_POLICY "\"issuers\":[\"" ISSUER "\"],\"audiences\":[\"product-factory\"]"

static char *g_jwks, *g_token, *g_expired, *g_tampered, *g_policy;
static size_t g_jwks_len, g_policy_len;
static char *g_payload_seg, *g_sig_seg; /* segments 2 and 3 of the example token */

static xca_verifier *make(const char *policy_json, xca_status *status)
{
    xca_verifier *v = NULL;
    *status = xca_verifier_new(u8(g_jwks), g_jwks_len, u8(policy_json), strlen(policy_json), &v);
    return v;
}

/* A verifier with the base policy plus `extra` members ("" for none). */
static xca_verifier *with_policy(const char *extra)
{
    char *p = concat("{" BASE_POLICY, *extra ? "," : "", extra, "}", (char *)NULL);
    xca_status s;
    xca_verifier *v = make(p, &s);
    if (s != XCA_OK)
        die("policy %s: %s", p, xca_status_name(s));
    free(p);
    return v;
}

static xca_status verify_str(const xca_verifier *v, const char *token, int64_t now)
{
    return xca_verify(v, u8(token), strlen(token), now, NULL, 0, NULL);
}

/* A token with a new header and the example's payload and signature. */
static char *with_header(const char *header_json)
{
    char *h = b64url(header_json, strlen(header_json));
    char *t = concat(h, ".", g_payload_seg, ".", g_sig_seg, (char *)NULL);
    free(h);
    return t;
}

static void last_error(char *buf, size_t cap)
{
    size_t len = 0;
    xca_status s = xca_last_error_message(buf, cap, &len);
    if (s != XCA_OK)
        die("xca_last_error_message: %s", xca_status_name(s));
}

static void test_names(void)
{
    static const struct {
        xca_status status;
        const char *name;
    } table[] = {
        {XCA_OK, "ok"},
        {XCA_MALFORMED, "malformed"},
        {XCA_BAD_BASE64, "bad_base64"},
        {XCA_BAD_JSON, "bad_json"},
        {XCA_TOO_LARGE, "too_large"},
        {XCA_UNSUPPORTED_HEADER, "unsupported_header"},
        {XCA_UNSUPPORTED_ALG, "unsupported_alg"},
        {XCA_UNKNOWN_KID, "unknown_kid"},
        {XCA_WEAK_KEY, "weak_key"},
        {XCA_BAD_SIGNATURE, "bad_signature"},
        {XCA_MISSING_CLAIM, "missing_claim"},
        {XCA_EXPIRED, "expired"},
        {XCA_NOT_YET_VALID, "not_yet_valid"},
        {XCA_ISSUED_IN_FUTURE, "issued_in_future"},
        {XCA_WRONG_ISSUER, "wrong_issuer"},
        {XCA_WRONG_AUDIENCE, "wrong_audience"},
        {XCA_WRONG_TYPE, "wrong_type"},
        {XCA_MISSING_SCOPE, "missing_scope"},
        {XCA_MISSING_ROLE, "missing_role"},
        {XCA_KEYS_UNAVAILABLE, "keys_unavailable"},
        {XCA_NULL_ARGUMENT, "null_argument"},
        {XCA_BUFFER_TOO_SMALL, "buffer_too_small"},
        {XCA_INVALID_CONFIG, "invalid_config"},
        {XCA_INVALID_UTF8, "invalid_utf8"},
        {XCA_PANIC, "panic"},
        {XCA_CLOCK_ERROR, "clock_error"},
        {XCA_INVALID_ARGUMENT, "invalid_argument"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *n = xca_status_name(table[i].status);
        CHECK(n && strcmp(n, table[i].name) == 0, "name of %u is %s", (unsigned)table[i].status, n);
        /* Values are fixed: categories 1..19 in DESIGN order, misuse from 100. */
        CHECK(table[i].status == (i <= 19 ? i : 100 + (i - 20)), "value of %s", table[i].name);
    }
    const xca_status unknown[] = {20, 99, 107, 1000, 0x7fffffffu, 0xffffffffu, (xca_status)-1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *n = xca_status_name(unknown[i]);
        CHECK(n && strcmp(n, "unknown") == 0, "name of %u", (unsigned)unknown[i]);
    }
    CHECK(xca_http_status(XCA_EXPIRED) == 401, "expired");
    CHECK(xca_http_status(XCA_MISSING_SCOPE) == 403, "scope");
    CHECK(xca_http_status(XCA_MISSING_ROLE) == 403, "role");
    CHECK(xca_http_status(XCA_KEYS_UNAVAILABLE) == 503, "keys_unavailable");
    CHECK(xca_http_status(XCA_OK) == 0, "ok");
    CHECK(xca_http_status(XCA_INVALID_CONFIG) == 0, "config");
    CHECK(xca_http_status(12345) == 0, "unknown");
    const char *ver = xca_version();
    CHECK(ver && ver[0] >= '0' && ver[0] <= '9' && strchr(ver, '.'), "version %s", ver ? ver : "(null)");
}

static void test_new(void)
{
    xca_status s;
    xca_verifier *v = make(g_policy, &s);
    CHECK_STATUS(s, XCA_OK, "example policy");
    CHECK(v != NULL, "handle");
    xca_verifier_free(v);

    /* Outputs are written only on success: a sentinel survives every failure. */
    static int sentinel;
    xca_verifier *const marker = (xca_verifier *)&sentinel;
    static const char *const bad_policies[] = {
        "{\"issuer\":\"x\"}",                                 /* unknown option */
        "{}",                                                 /* issuers missing */
        "{\"issuers\":[]}",                                   /* issuers empty */
        "{\"issuers\":\"x\",\"algorithms\":[\"HS256\"]}",     /* unsupported alg */
        "{\"issuers\":\"x\",\"leeway\":-1}",                  /* out of range */
        "{\"issuers\":\"x\",\"leeway\":\"30\"}",              /* wrong type */
        "{\"issuers\":\"x\",\"issuers\":\"y\"}",              /* duplicate */
        "{\"issuers\":\"x\",\"min_rsa_bits\":1024}",           /* below the 2048 floor */
        "{\"issuers\":\"x\",\"header_types\":[]}",             /* accepts nothing */
        "{\"issuers\":\"x\",\"header_types\":[1]}",            /* wrong type */
        "[\"x\"]",                                            /* not an object */
        "{\"issuers\":\"x\"",                                 /* truncated */
        "",
        "\xff\xfe",
    };
    for (size_t i = 0; i < sizeof bad_policies / sizeof bad_policies[0]; i++) {
        v = marker;
        s = xca_verifier_new(u8(g_jwks), g_jwks_len, u8(bad_policies[i]), strlen(bad_policies[i]), &v);
        CHECK_STATUS(s, XCA_INVALID_CONFIG, bad_policies[i]);
        CHECK(v == marker, "out written on failure (%s)", bad_policies[i]);
    }
    char msg[512];
    s = xca_verifier_new(u8(g_jwks), g_jwks_len, u8("{\"issuer\":\"x\"}"), 14, &v);
    last_error(msg, sizeof msg);
    CHECK(strstr(msg, "invalid_config: ") == msg && strstr(msg, "issuer"), "message: %s", msg);

    static const char *const bad_jwks[] = {
        "{\"keys\":[]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}",
        "not json",
        "{\"keys\":{}}",
        "",
    };
    for (size_t i = 0; i < sizeof bad_jwks / sizeof bad_jwks[0]; i++) {
        v = marker;
        s = xca_verifier_new(u8(bad_jwks[i]), strlen(bad_jwks[i]), u8(g_policy), g_policy_len, &v);
        CHECK_STATUS(s, XCA_INVALID_CONFIG, bad_jwks[i]);
        CHECK(v == marker, "out written on failure (%s)", bad_jwks[i]);
    }

    /* NULL arguments. */
    v = marker;
    CHECK_STATUS(xca_verifier_new(NULL, 0, u8(g_policy), g_policy_len, &v), XCA_NULL_ARGUMENT, "jwks NULL");
    CHECK_STATUS(xca_verifier_new(NULL, 10, u8(g_policy), g_policy_len, &v), XCA_NULL_ARGUMENT, "jwks NULL, len");
    CHECK_STATUS(xca_verifier_new(u8(g_jwks), g_jwks_len, NULL, 0, &v), XCA_INVALID_CONFIG, "policy NULL, 0");
    CHECK_STATUS(xca_verifier_new(u8(g_jwks), g_jwks_len, NULL, 5, &v), XCA_NULL_ARGUMENT, "policy NULL, 5");
    CHECK_STATUS(xca_verifier_new(u8(g_jwks), g_jwks_len, u8(g_policy), g_policy_len, NULL), XCA_NULL_ARGUMENT,
                 "out NULL");
    CHECK_STATUS(xca_verifier_new(u8(g_jwks), SIZE_MAX, u8(g_policy), g_policy_len, &v), XCA_INVALID_ARGUMENT,
                 "jwks_len SIZE_MAX");
    CHECK(v == marker, "out written on failure (NULL args)");
    last_error(msg, sizeof msg);
    CHECK(strstr(msg, "invalid_argument: ") == msg, "message: %s", msg);

    /* A policy given as the full example document with every option. */
    s = xca_verifier_new(u8(g_jwks), g_jwks_len, u8(g_policy), g_policy_len, &v);
    CHECK_STATUS(s, XCA_OK, "again");
    last_error(msg, sizeof msg);
    CHECK(msg[0] == '\0', "success clears the message: %s", msg);
    xca_verifier_free(v);
    xca_verifier_free(NULL);
}

/* Every token category the example realm can produce, through xca_verify. */
static void test_categories(void)
{
    xca_status s;
    xca_verifier *v = make(g_policy, &s);
    char *t;

    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_OK, "example token");
    CHECK_STATUS(verify_str(v, g_token, -1), XCA_EXPIRED, "system clock: long expired");
    CHECK_STATUS(verify_str(v, g_expired, NOW), XCA_EXPIRED, "expired.jwt");
    CHECK_STATUS(verify_str(v, g_token, NOW + 86400), XCA_EXPIRED, "a day later");
    CHECK_STATUS(verify_str(v, g_token, 1764003540 + 30), XCA_EXPIRED, "exp + leeway");
    CHECK_STATUS(verify_str(v, g_token, 1764003540 + 29), XCA_OK, "exp + leeway - 1");
    CHECK_STATUS(verify_str(v, g_token, 1763999940 - 31), XCA_ISSUED_IN_FUTURE, "before iat - leeway");
    CHECK_STATUS(verify_str(v, g_tampered, NOW), XCA_BAD_SIGNATURE, "tampered.jwt");

    static const char *const malformed[] = {"", "a", "a.b", "a.b.c.d", "a.b.c.d.e", "..", "a..c", ".b.c", "a.b."};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        CHECK_STATUS(verify_str(v, malformed[i], NOW), XCA_MALFORMED, malformed[i]);
    t = concat(g_token, "\n", (char *)NULL);
    CHECK_STATUS(verify_str(v, t, NOW), XCA_MALFORMED, "trailing newline");
    free(t);
    t = concat("Bearer ", g_token, (char *)NULL);
    CHECK_STATUS(verify_str(v, t, NOW), XCA_MALFORMED, "Bearer prefix to xca_verify");
    free(t);
    /* Embedded NUL: the length, not a terminator, delimits the token. */
    size_t n = strlen(g_token);
    char *nul = malloc(n + 1);
    memcpy(nul, g_token, n + 1);
    nul[10] = '\0';
    CHECK_STATUS(xca_verify(v, u8(nul), n, NOW, NULL, 0, NULL), XCA_BAD_BASE64, "embedded NUL");
    free(nul);

    t = concat(g_token, "=", (char *)NULL);
    CHECK_STATUS(verify_str(v, t, NOW), XCA_BAD_BASE64, "padded signature");
    free(t);
    t = concat("eyJ+", strchr(g_token, '.'), (char *)NULL);
    CHECK_STATUS(verify_str(v, t, NOW), XCA_BAD_BASE64, "+ in header");
    free(t);

    t = with_header("{\"alg\":\"RS256\",");
    CHECK_STATUS(verify_str(v, t, NOW), XCA_BAD_JSON, "truncated header JSON");
    free(t);
    t = with_header("{\"alg\":\"RS256\",\"alg\":\"RS256\"}");
    CHECK_STATUS(verify_str(v, t, NOW), XCA_BAD_JSON, "duplicate header member");
    free(t);
    t = with_header("[\"RS256\"]");
    CHECK_STATUS(verify_str(v, t, NOW), XCA_BAD_JSON, "header array");
    free(t);

    static const char *const bad_algs[] = {
        "{\"alg\":\"none\"}", "{\"alg\":\"NoNe\"}", "{\"alg\":\"HS256\",\"kid\":\"" KID "\"}",
        "{\"alg\":\"rs256\"}", "{\"kid\":\"" KID "\"}", "{\"alg\":\"PS256\",\"kid\":\"" KID "\"}",
        "{\"alg\":\"ES256\"}", "{\"alg\":256}",
    };
    for (size_t i = 0; i < sizeof bad_algs / sizeof bad_algs[0]; i++) {
        t = with_header(bad_algs[i]);
        CHECK_STATUS(verify_str(v, t, NOW), XCA_UNSUPPORTED_ALG, bad_algs[i]);
        free(t);
    }
    static const char *const bad_headers[] = {
        "{\"alg\":\"RS256\",\"kid\":\"" KID "\",\"crit\":[\"exp\"]}",
        "{\"alg\":\"RS256\",\"kid\":\"" KID "\",\"crit\":[]}",
        "{\"alg\":\"RS256\",\"kid\":\"" KID "\",\"b64\":false}",
        "{\"alg\":\"RS256\",\"kid\":\"" KID "\",\"cty\":\"JWT\"}",
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        t = with_header(bad_headers[i]);
        CHECK_STATUS(verify_str(v, t, NOW), XCA_UNSUPPORTED_HEADER, bad_headers[i]);
        free(t);
    }
    static const char *const unknown[] = {
        "{\"alg\":\"RS256\",\"kid\":\"nope\"}",
        "{\"alg\":\"RS256\",\"kid\":\"AXXZI6gTmiL25UHJqyv5Ng7l6jk40vgF6A0mbMYHaOU\"}",
        /* the encryption key's kid */
        "{\"alg\":\"RS256\",\"kid\":\"LdiL-7-yveTQa7g5h11UOGyNKj7NPspxeiWidbHA4n4\"}",
        "{\"alg\":\"RS256\",\"kid\":7}",
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        t = with_header(unknown[i]);
        CHECK_STATUS(verify_str(v, t, NOW), XCA_UNKNOWN_KID, unknown[i]);
        free(t);
    }
    /* The right kid, but the header bytes differ from the signed ones. */
    t = with_header("{\"alg\":\"RS256\",\"kid\":\"" KID "\"}");
    CHECK_STATUS(verify_str(v, t, NOW), XCA_BAD_SIGNATURE, "re-encoded header");
    /* Without kid the only usable key is chosen (the enc and EC keys are skipped). */
    free(t);
    t = with_header("{\"alg\":\"RS256\",\"jku\":\"https://attacker.example/jwks\"}");
    CHECK_STATUS(verify_str(v, t, NOW), XCA_BAD_SIGNATURE, "no kid, jku ignored");
    free(t);
    xca_verifier_free(v);

    struct {
        const char *extra;
        xca_status want;
    } policies[] = {
        {"\"max_token_bytes\":100", XCA_TOO_LARGE},
        {"\"min_rsa_bits\":4096", XCA_WEAK_KEY},
        {"\"required_claims\":[\"exp\",\"nonce\"]", XCA_MISSING_CLAIM},
        {"\"issuers\":[\"https://sso.example.com/realms/other\"]", XCA_WRONG_ISSUER},
        {"\"issuers\":[\"https://sso.example.com/realms/demo/\"]", XCA_WRONG_ISSUER},
        {"\"audiences\":[\"orders-api\"]", XCA_WRONG_AUDIENCE},
        {"\"token_type\":\"ID\"", XCA_WRONG_TYPE},
        /* The sample's header typ is JWT: RFC 9068's at+jwt refuses it at step 4. */
        {"\"header_types\":[\"at+jwt\"]", XCA_WRONG_TYPE},
        {"\"header_types\":[\"at+jwt\",\"application/jwt\"]", XCA_OK},
        {"\"required_scopes\":[\"spar\"]", XCA_MISSING_SCOPE},
        {"\"required_realm_roles\":[\"spark-admin\"]", XCA_MISSING_ROLE},
        {"\"required_client_roles\":{\"product-factory\":[\"admin\"]}", XCA_MISSING_ROLE},
        {"\"required_scopes\":[\"spark\"],\"required_realm_roles\":[\"spark-user\"]", XCA_OK},
        {"\"token_type\":null,\"audiences\":null", XCA_OK},
    };
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        /* Later members override BASE_POLICY's: duplicates are refused, so build fresh. */
        const char *e = policies[i].extra;
        char *p;
        if (strstr(e, "\"issuers\"") || strstr(e, "\"audiences\""))
            p = concat("{", e, strstr(e, "\"issuers\"") ? ",\"audiences\":[\"product-factory\"]" : ",\"issuers\":\"" ISSUER "\"",
                       "}", (char *)NULL);
        else
            p = concat("{" BASE_POLICY ",", e, "}", (char *)NULL);
        xca_verifier *pv = make(p, &s);
        CHECK_STATUS(s, XCA_OK, p);
        if (pv)
            CHECK_STATUS(verify_str(pv, g_token, NOW), policies[i].want, p);
        xca_verifier_free(pv);
        free(p);
    }
}

static void test_buffers(void)
{
    xca_verifier *v = with_policy("");
    size_t tl = strlen(g_token), len = 0;
    /* 1. size query */
    CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, NULL, 0, &len), XCA_BUFFER_TOO_SMALL, "size query");
    size_t need = len;
    CHECK(need > 500 && need < tl, "needed length %zu", need);

    /* 2. one byte short: status + needed length, buffer untouched */
    uint8_t *buf = malloc(need + 16);
    memset(buf, 0xAA, need + 16);
    len = 0;
    CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, buf, need - 1, &len), XCA_BUFFER_TOO_SMALL, "short");
    CHECK(len == need, "needed %zu, got %zu", need, len);
    int untouched = 1;
    for (size_t i = 0; i < need + 16; i++)
        untouched &= buf[i] == 0xAA;
    CHECK(untouched, "buffer written on buffer_too_small");
    char msg[256];
    last_error(msg, sizeof msg);
    CHECK(strstr(msg, "buffer_too_small: ") == msg, "message: %s", msg);

    /* 3. exact size: JSON without NUL, nothing written past it */
    len = 0;
    CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, buf, need, &len), XCA_OK, "exact");
    CHECK(len == need && buf[0] == '{' && buf[need - 1] == '}' && buf[need] == 0xAA, "claims %zu", len);
    CHECK(memmem(buf, len, "\"azp\":\"demo-client\"", 19) != NULL, "azp in claims");
    CHECK(memmem(buf, len, "\"preferred_username\":\"demo.user\"", 32) != NULL, "username in claims");

    /* 4. verdict only */
    CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, NULL, 0, NULL), XCA_OK, "verdict only");
    CHECK_STATUS(xca_verify(v, u8(g_expired), strlen(g_expired), NOW, NULL, 0, NULL), XCA_EXPIRED, "verdict only");

    /* an invalid token reports its category and writes nothing, whatever the buffer */
    len = 12345;
    CHECK_STATUS(xca_verify(v, u8(g_expired), strlen(g_expired), NOW, buf, 1, &len), XCA_EXPIRED, "small+invalid");
    CHECK(len == 12345, "claims_len written on failure");
    CHECK_STATUS(xca_verify(v, u8(g_expired), strlen(g_expired), NOW, NULL, 0, &len), XCA_EXPIRED, "query+invalid");
    CHECK(len == 12345, "claims_len written on failure");

    /* NULL and garbage arguments */
    CHECK_STATUS(xca_verify(NULL, u8(g_token), tl, NOW, buf, need, &len), XCA_NULL_ARGUMENT, "v NULL");
    CHECK_STATUS(xca_verify(v, NULL, tl, NOW, buf, need, &len), XCA_NULL_ARGUMENT, "token NULL");
    CHECK_STATUS(xca_verify(v, NULL, 0, NOW, buf, need, &len), XCA_NULL_ARGUMENT, "token NULL, 0");
    CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, NULL, 10, &len), XCA_NULL_ARGUMENT, "out NULL, cap 10");
    CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, buf, need, NULL), XCA_NULL_ARGUMENT, "len NULL");
    /* argument errors come before the verdict */
    CHECK_STATUS(xca_verify(v, u8(g_expired), tl, NOW, buf, need, NULL), XCA_NULL_ARGUMENT, "len NULL+invalid");
    CHECK_STATUS(xca_verify(v, u8(g_token), SIZE_MAX, NOW, NULL, 0, NULL), XCA_TOO_LARGE, "SIZE_MAX token");
    CHECK_STATUS(xca_verify(v, u8(g_token), (size_t)PTRDIFF_MAX + 1, NOW, NULL, 0, NULL), XCA_TOO_LARGE, "huge");
    CHECK(len == 12345, "claims_len written on failure");

    /* Authorization header values */
    char *h = concat("Bearer ", g_token, (char *)NULL);
    len = 0;
    memset(buf, 0, need);
    CHECK_STATUS(xca_verify_header(v, u8(h), strlen(h), NOW, buf, need, &len), XCA_OK, "Bearer");
    CHECK(len == need && buf[0] == '{', "claims via header");
    free(h);
    static const char *const ok_values[] = {"bearer ", "BEARER ", " \tBearer   "};
    for (size_t i = 0; i < sizeof ok_values / sizeof ok_values[0]; i++) {
        h = concat(ok_values[i], g_token, " \t", (char *)NULL);
        CHECK_STATUS(xca_verify_header(v, u8(h), strlen(h), NOW, NULL, 0, NULL), XCA_OK, ok_values[i]);
        free(h);
    }
    static const char *const bad_values[] = {"Basic dXNlcjpwdw==", "Bearer", "Bearer ", "", "Token abc.def.ghi",
                                             "Bearer\xff abc"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        CHECK_STATUS(xca_verify_header(v, u8(bad_values[i]), strlen(bad_values[i]), NOW, NULL, 0, NULL),
                     XCA_MALFORMED, bad_values[i]);
    /* After the scheme, the token's bytes are judged as xca_verify judges them. */
    CHECK_STATUS(xca_verify_header(v, u8("Bearer \xff.a.b"), 12, NOW, NULL, 0, NULL), XCA_BAD_BASE64, "non-UTF-8 token");
    CHECK_STATUS(xca_verify(v, u8("\xff.a.b"), 5, NOW, NULL, 0, NULL), XCA_BAD_BASE64, "non-UTF-8 token, direct");
    h = concat("Bearer ", g_expired, (char *)NULL);
    CHECK_STATUS(xca_verify_header(v, u8(h), strlen(h), NOW, NULL, 0, NULL), XCA_EXPIRED, "Bearer expired");
    free(h);
    CHECK_STATUS(xca_verify_header(NULL, u8("Bearer x"), 8, NOW, NULL, 0, NULL), XCA_NULL_ARGUMENT, "hdr v NULL");
    CHECK_STATUS(xca_verify_header(v, NULL, 8, NOW, NULL, 0, NULL), XCA_NULL_ARGUMENT, "hdr value NULL");
    free(buf);
    xca_verifier_free(v);
}

static void test_last_error(void)
{
    xca_verifier *v = with_policy("");
    char msg[512];
    size_t len = 0;

    CHECK_STATUS(verify_str(v, g_expired, NOW), XCA_EXPIRED, "expired");
    last_error(msg, sizeof msg);
    CHECK(strcmp(msg, "expired: the token has expired") == 0, "message: %s", msg);
    /* helpers leave it alone */
    char out[512];
    (void)xca_www_authenticate(XCA_EXPIRED, "demo", out, sizeof out, &len);
    (void)xca_www_authenticate(XCA_EXPIRED, "demo", NULL, 0, &len);
    (void)xca_status_name(XCA_OK);
    last_error(msg, sizeof msg);
    CHECK(strcmp(msg, "expired: the token has expired") == 0, "after helpers: %s", msg);
    /* size query and too small */
    size_t want = strlen(msg);
    CHECK_STATUS(xca_last_error_message(NULL, 0, &len), XCA_BUFFER_TOO_SMALL, "query");
    CHECK(len == want, "len %zu", len);
    memset(out, 'x', sizeof out);
    CHECK_STATUS(xca_last_error_message(out, want, &len), XCA_BUFFER_TOO_SMALL, "no room for NUL");
    CHECK(out[0] == 'x', "written on failure");
    CHECK_STATUS(xca_last_error_message(out, want + 1, &len), XCA_OK, "exact");
    CHECK(len == want && out[want] == '\0' && strcmp(out, msg) == 0, "exact copy");
    CHECK_STATUS(xca_last_error_message(out, sizeof out, NULL), XCA_NULL_ARGUMENT, "len NULL");
    CHECK_STATUS(xca_last_error_message(NULL, 5, &len), XCA_NULL_ARGUMENT, "buf NULL cap 5");

    /* a scope message names the policy's scope, never token content */
    xca_verifier *sv = with_policy("\"required_scopes\":[\"orders:write\"]");
    CHECK_STATUS(verify_str(sv, g_token, NOW), XCA_MISSING_SCOPE, "scope");
    last_error(msg, sizeof msg);
    CHECK(strstr(msg, "missing_scope: ") == msg && strstr(msg, "orders:write"), "message: %s", msg);
    xca_verifier_free(sv);
    /* messages never echo the token */
    for (int i = 0; i < 3; i++) {
        const char *tok = i == 0 ? g_tampered : i == 1 ? g_expired : "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln";
        (void)verify_str(v, tok, NOW);
        last_error(msg, sizeof msg);
        CHECK(strstr(msg, "eyJ") == NULL, "message echoes the token: %s", msg);
    }
    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_OK, "ok");
    last_error(msg, sizeof msg);
    CHECK(msg[0] == '\0', "cleared by success: %s", msg);
    xca_verifier_free(v);
}

static void test_http(void)
{
    char out[1024];
    size_t len = 0;
    CHECK_STATUS(xca_www_authenticate(XCA_EXPIRED, "demo", out, sizeof out, &len), XCA_OK, "www");
    CHECK(strcmp(out, "Bearer realm=\"demo\", error=\"invalid_token\", error_description=\"Token expired\"") == 0 &&
              len == strlen(out),
          "%s", out);
    CHECK_STATUS(xca_www_authenticate(XCA_MISSING_ROLE, NULL, out, sizeof out, &len), XCA_OK, "www 403");
    CHECK(strncmp(out, "Bearer error=\"insufficient_scope\"", 33) == 0, "%s", out);
    CHECK_STATUS(xca_www_authenticate(XCA_OK, NULL, out, sizeof out, &len), XCA_INVALID_ARGUMENT, "www ok");
    CHECK_STATUS(xca_www_authenticate(XCA_NULL_ARGUMENT, NULL, out, sizeof out, &len), XCA_INVALID_ARGUMENT, "misuse");
    CHECK_STATUS(xca_www_authenticate(777, NULL, out, sizeof out, &len), XCA_INVALID_ARGUMENT, "777");
    CHECK_STATUS(xca_www_authenticate(XCA_EXPIRED, "\xc3\x28", out, sizeof out, &len), XCA_INVALID_UTF8, "utf8");
    CHECK_STATUS(xca_www_authenticate(XCA_EXPIRED, "a\"b\\", out, sizeof out, &len), XCA_OK, "quote");
    CHECK(strstr(out, "realm=\"a\\\"b\\\\\"") != NULL, "escaped realm: %s", out);
    CHECK_STATUS(xca_www_authenticate(XCA_EXPIRED, NULL, out, sizeof out, NULL), XCA_NULL_ARGUMENT, "len NULL");
    CHECK_STATUS(xca_www_authenticate(XCA_EXPIRED, NULL, NULL, 0, &len), XCA_BUFFER_TOO_SMALL, "query");
    size_t need = len;
    memset(out, 'x', sizeof out);
    CHECK_STATUS(xca_www_authenticate(XCA_EXPIRED, NULL, out, need, &len), XCA_BUFFER_TOO_SMALL, "no NUL room");
    CHECK(out[0] == 'x' && len == need, "untouched");
    CHECK_STATUS(xca_www_authenticate(XCA_EXPIRED, NULL, out, need + 1, &len), XCA_OK, "exact");

    const char *urn = "urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb";
    CHECK_STATUS(xca_problem_json(XCA_WRONG_AUDIENCE, urn, "/x", out, sizeof out, &len), XCA_OK, "problem");
    CHECK(strcmp(out, "{\"type\":\"urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb\",\"title\":\"Token not intended "
                      "for this audience\",\"status\":401,\"detail\":\"Token not intended for this audience\","
                      "\"instance\":\"/x\",\"error\":\"wrong_audience\"}") == 0,
          "%s", out);
    CHECK_STATUS(xca_problem_json(XCA_MISSING_SCOPE, NULL, NULL, out, sizeof out, &len), XCA_OK, "problem 403");
    CHECK(strstr(out, "\"type\":\"about:blank\",\"title\":\"Forbidden\",\"status\":403") != NULL, "%s", out);
    CHECK(strstr(out, "instance") == NULL, "no instance: %s", out);
    CHECK_STATUS(xca_problem_json(XCA_PANIC, NULL, NULL, out, sizeof out, &len), XCA_INVALID_ARGUMENT, "panic");
    CHECK_STATUS(xca_problem_json(XCA_EXPIRED, "\xff", NULL, out, sizeof out, &len), XCA_INVALID_UTF8, "utf8");
    CHECK_STATUS(xca_problem_json(XCA_EXPIRED, NULL, "\xff", out, sizeof out, &len), XCA_INVALID_UTF8, "utf8 i");
    CHECK_STATUS(xca_problem_json(XCA_EXPIRED, NULL, NULL, NULL, 0, &len), XCA_BUFFER_TOO_SMALL, "query");
    CHECK_STATUS(xca_problem_json(XCA_EXPIRED, NULL, NULL, NULL, 0, NULL), XCA_NULL_ARGUMENT, "len NULL");
    /* control characters need escaping: 6 bytes each, must still be complete */
    char ctl[2001];
    for (int i = 0; i < 2000; i++)
        ctl[i] = (char)(1 + i % 31);
    ctl[2000] = '\0';
    CHECK_STATUS(xca_problem_json(XCA_EXPIRED, ctl, ctl, NULL, 0, &len), XCA_BUFFER_TOO_SMALL, "ctl query");
    char *big = malloc(len + 1);
    size_t len2 = 0;
    CHECK_STATUS(xca_problem_json(XCA_EXPIRED, ctl, ctl, big, len + 1, &len2), XCA_OK, "ctl");
    CHECK(len2 == len && len > 2 * 2000 * 5 && strstr(big, "\"error\":\"expired\"}") != NULL, "ctl %zu", len2);
    free(big);
}

static void test_swap(void)
{
    xca_verifier *v = with_policy("");
    CHECK_STATUS(xca_verifier_set_jwks(v, u8("{\"keys\":[]}"), 11), XCA_INVALID_CONFIG, "empty set");
    CHECK_STATUS(xca_verifier_set_jwks(v, u8("garbage"), 7), XCA_INVALID_CONFIG, "garbage");
    CHECK_STATUS(xca_verifier_set_jwks(v, NULL, 7), XCA_NULL_ARGUMENT, "NULL jwks");
    CHECK_STATUS(xca_verifier_set_jwks(NULL, u8(g_jwks), g_jwks_len), XCA_NULL_ARGUMENT, "NULL v");
    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_OK, "old keys kept");
    /* The same keys under other kids: the token's kid becomes unknown. */
    char *other = strdup(g_jwks);
    for (char *k = strstr(other, KID); k; k = strstr(k, KID))
        k[0] = k[0] == 'a' ? 'b' : 'a';
    CHECK(strstr(other, KID) == NULL, "kid renamed");
    CHECK_STATUS(xca_verifier_set_jwks(v, u8(other), strlen(other)), XCA_OK, "other set");
    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_UNKNOWN_KID, "after swap");
    free(other);
    CHECK_STATUS(xca_verifier_set_jwks(v, u8(g_jwks), g_jwks_len), XCA_OK, "back");
    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_OK, "after swap back");
    xca_verifier_free(v);
}

/* The verified-token cache, switched on through the policy JSON (cache_entries): a
 * repeated token gives the same claims, its exp and iat are judged at each call's
 * `now`, a key swap empties it, and failures are never served from it. */
static void test_cache(void)
{
    xca_status s;
    xca_verifier *bad = make("{" BASE_POLICY ",\"cache_entries\":-1}", &s);
    CHECK_STATUS(s, XCA_INVALID_CONFIG, "negative cache_entries");
    CHECK(bad == NULL, "no verifier");
    bad = make("{" BASE_POLICY ",\"cache_entries\":\"16\"}", &s);
    CHECK_STATUS(s, XCA_INVALID_CONFIG, "string cache_entries");
    bad = make("{" BASE_POLICY ",\"cache_entries\":262145}", &s);
    CHECK_STATUS(s, XCA_INVALID_CONFIG, "cache_entries above the limit");

    xca_verifier *plain = with_policy("");
    xca_verifier *v = with_policy("\"cache_entries\":16");
    size_t tl = strlen(g_token), want_len = 0, len = 0;
    char want[4096], got[4096];
    CHECK_STATUS(xca_verify(plain, u8(g_token), tl, NOW, (uint8_t *)want, sizeof want, &want_len), XCA_OK,
                 "uncached");
    for (int round = 0; round < 3; round++) {
        memset(got, 0, sizeof got);
        CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, (uint8_t *)got, sizeof got, &len), XCA_OK, "cached");
        CHECK(len == want_len && memcmp(got, want, len) == 0, "round %d: same claims", round);
        /* A too small buffer on a hit: the same answer as uncached. */
        len = 0;
        CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, (uint8_t *)got, 10, &len), XCA_BUFFER_TOO_SMALL,
                     "small buffer on a hit");
        CHECK(len == want_len, "needed length %zu", len);
        CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, NULL, 0, NULL), XCA_OK, "verdict only");
    }
    /* exp 1764003540, iat 1763999940, leeway 30: judged on every hit. */
    CHECK_STATUS(verify_str(v, g_token, 1764003540LL + 30), XCA_EXPIRED, "expired on a hit");
    CHECK_STATUS(verify_str(v, g_token, 1764003540LL + 29), XCA_OK, "just valid on a hit");
    CHECK_STATUS(verify_str(v, g_token, 1763999940LL - 31), XCA_ISSUED_IN_FUTURE, "iat on a hit");
    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_OK, "valid again");
    /* Failures stay failures, the cached token beside them notwithstanding. */
    CHECK_STATUS(verify_str(v, g_tampered, NOW), XCA_BAD_SIGNATURE, "tampered");
    CHECK_STATUS(verify_str(v, g_expired, NOW), XCA_EXPIRED, "expired token");
    /* A key swap empties the cache: the token's kid is unknown at once. */
    char *other = strdup(g_jwks);
    for (char *k = strstr(other, KID); k; k = strstr(k, KID))
        k[0] = k[0] == 'a' ? 'b' : 'a';
    CHECK_STATUS(xca_verifier_set_jwks(v, u8(other), strlen(other)), XCA_OK, "other set");
    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_UNKNOWN_KID, "cache emptied by the swap");
    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_UNKNOWN_KID, "and not refilled by a failure");
    free(other);
    CHECK_STATUS(xca_verifier_set_jwks(v, u8(g_jwks), g_jwks_len), XCA_OK, "back");
    CHECK_STATUS(xca_verify(v, u8(g_token), tl, NOW, (uint8_t *)got, sizeof got, &len), XCA_OK, "after swap back");
    CHECK(len == want_len && memcmp(got, want, len) == 0, "same claims after the swap back");
    CHECK_STATUS(verify_str(v, g_token, NOW), XCA_OK, "a hit again");
    xca_verifier_free(v);
    xca_verifier_free(plain);
}

/* Random and mutated input must never be accepted, crash, or give an unknown code. */
static void test_garbage(void)
{
    xca_verifier *v = with_policy("");
    uint32_t seed = 12345;
    size_t tl = strlen(g_token);
    char *t = malloc(tl + 1 > 1600 ? tl + 1 : 1600);
    unsigned long bad = 0, accepted = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(t, g_token, tl + 1);
        int flips = 1 + i % 3;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % tl;
            seed = seed * 1103515245u + 12345u;
            char c = (char)(seed >> 16);
            if (c == t[pos])
                c ^= 1;
            t[pos] = c;
        }
        xca_status s = xca_verify(v, u8(t), tl, NOW, NULL, 0, NULL);
        if (s == XCA_OK)
            accepted++;
        if (strcmp(xca_status_name(s), "unknown") == 0 || (s > 18 && s != XCA_OK))
            bad++;
    }
    for (int i = 0; i < 2000; i++) {
        size_t n = (size_t)(i * 7) % 1500;
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            t[k] = (char)(seed >> 16);
        }
        xca_status s = xca_verify(v, u8(t), n, NOW, NULL, 0, NULL);
        if (s == XCA_OK)
            accepted++;
        if (s == XCA_OK || s > 18)
            bad++;
    }
    CHECK(accepted == 0, "%lu mutated tokens accepted", accepted);
    CHECK(bad == 0, "%lu unexpected statuses", bad);
    free(t);
    xca_verifier_free(v);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: %s EXAMPLES_DIR (examples/keycloak)", argv[0]);
    char *p;
    g_jwks = read_file(p = path_join(argv[1], "jwks.json"), &g_jwks_len, 0), free(p);
    g_policy = read_file(p = path_join(argv[1], "policy.json"), &g_policy_len, 0), free(p);
    g_token = read_file(p = path_join(argv[1], "token.jwt"), NULL, 1), free(p);
    g_expired = read_file(p = path_join(argv[1], "expired.jwt"), NULL, 1), free(p);
    g_tampered = read_file(p = path_join(argv[1], "tampered.jwt"), NULL, 1), free(p);
    const char *d1 = strchr(g_token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        die("token.jwt is not a JWS");
    g_payload_seg = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
    g_sig_seg = strdup(d2 + 1);

    test_names();
    test_new();
    test_categories();
    test_buffers();
    test_last_error();
    test_http();
    test_swap();
    test_cache();
    test_garbage();

    free(g_jwks), free(g_policy), free(g_token), free(g_expired), free(g_tampered);
    free(g_payload_seg), free(g_sig_seg);
    return finish("test_api");
}
