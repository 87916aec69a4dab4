/*
 * Remote verifiers (xca_verifier_new_remote) against hostile loopback realms served by
 * ffi/tests/hostile_realm.py, which runs this program with XCA_REALM set.
 *
 * usage: hostile_realm.py test_remote ROTATIONS [SLOW]
 *
 * ROTATIONS: key rotations under 4 verifying threads. SLOW (non-zero) under valgrind:
 * timings are printed but only the deadline bounds are checked, with more slack.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define NOW 1764000000LL

static char g_base[128];
static int g_port;
static int g_slow;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* GET path from the realm server (HTTP/1.0, body into `out`, NUL-terminated). */
static void ctl(char *out, size_t cap, const char *fmt, ...)
{
    char path[512], req[640], resp[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("connect to the realm server failed");
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n)
        die("write");
    size_t got = 0;
    ssize_t r;
    while (got + 1 < sizeof resp && (r = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    resp[got] = '\0';
    if (strncmp(resp, "HTTP/1.1 200", 12) != 0 && strncmp(resp, "HTTP/1.0 200", 12) != 0)
        die("control %s failed: %.80s", path, resp);
    char *body = strstr(resp, "\r\n\r\n");
    if (!body)
        die("control %s: no body", path);
    body += 4;
    if (out) {
        if (strlen(body) + 1 > cap)
            die("control %s: answer too long", path);
        memcpy(out, body, strlen(body) + 1);
    }
}

static char *token(const char *realm, const char *kid, const char *key)
{
    char buf[4096];
    ctl(buf, sizeof buf, "/ctl/%s/token/%s/%s", realm, kid, key);
    return strndup(buf, sizeof buf);
}

static unsigned certs_hits(const char *realm)
{
    char buf[64];
    unsigned certs = 0, disc = 0;
    ctl(buf, sizeof buf, "/ctl/%s/hits", realm);
    if (sscanf(buf, "%u %u", &certs, &disc) != 2)
        die("hits: %s", buf);
    return certs;
}

static xca_verifier *remote(const char *realm_a, const char *realm_b, const char *options,
                            xca_status *status)
{
    char policy[512];
    if (realm_b)
        snprintf(policy, sizeof policy,
                 "{\"issuers\":[\"%s/realms/%s\",\"%s/realms/%s\"],\"audiences\":[\"orders-api\"]}",
                 g_base, realm_a, g_base, realm_b);
    else
        snprintf(policy, sizeof policy, "{\"issuers\":\"%s/realms/%s\",\"audiences\":[\"orders-api\"]}",
                 g_base, realm_a);
    xca_verifier *v = NULL;
    *status = xca_verifier_new_remote(u8(policy), strlen(policy), options ? u8(options) : NULL,
                                      options ? strlen(options) : 0, &v);
    return v;
}

static xca_status verify(const xca_verifier *v, const char *tok)
{
    return xca_verify(v, u8(tok), strlen(tok), NOW, NULL, 0, NULL);
}

static char *status_json(const xca_verifier *v)
{
    size_t len = 0;
    xca_status s = xca_verifier_status_json(v, NULL, 0, &len);
    if (s != XCA_BUFFER_TOO_SMALL)
        die("status_json size query: %s", xca_status_name(s));
    char *buf = malloc(len + 1);
    if (!buf)
        die("out of memory");
    s = xca_verifier_status_json(v, buf, len + 1, &len);
    if (s != XCA_OK)
        die("status_json: %s", xca_status_name(s));
    return buf;
}

static void last_error(char *buf, size_t cap)
{
    size_t len = 0;
    if (xca_last_error_message(buf, cap, &len) != XCA_OK)
        snprintf(buf, cap, "(message too long)");
}

/* Arguments and misuse: NULLs, bad options, URL rules, set_jwks/refresh on the wrong kind. */
static void test_arguments(void)
{
    xca_status s;
    xca_verifier *v = remote("args", NULL, NULL, &s);
    CHECK_STATUS(s, XCA_OK, "defaults with NULL options");
    char *st = status_json(v);
    CHECK(strstr(st, "\"remote\":true") && strstr(st, "\"fetch_count\":0"), "fresh status: %s", st);
    free(st);
    const char *jwks = "{\"keys\":[]}";
    CHECK_STATUS(xca_verifier_set_jwks(v, u8(jwks), strlen(jwks)), XCA_INVALID_ARGUMENT,
                 "set_jwks on a remote verifier");
    xca_verifier_free(v);

    v = remote("args", NULL, "{\"timeuot\":1}", &s);
    CHECK_STATUS(s, XCA_INVALID_CONFIG, "unknown option");
    CHECK(v == NULL, "no handle on failure");
    v = remote("args", NULL, "[]", &s);
    CHECK_STATUS(s, XCA_INVALID_CONFIG, "options not an object");
    v = remote("args", NULL, "{\"timeout\":0}", &s);
    CHECK_STATUS(s, XCA_INVALID_CONFIG, "zero timeout");
    v = remote("args", NULL, "{\"ca_file\":\"/nonexistent/ca.pem\"}", &s);
    CHECK_STATUS(s, XCA_INVALID_CONFIG, "unreadable ca_file");

    const char *policy = "{\"issuers\":\"http://sso.example.com/realms/x\"}";
    CHECK_STATUS(xca_verifier_new_remote(u8(policy), strlen(policy), NULL, 0, &v), XCA_INVALID_CONFIG,
                 "plain http to a non-loopback issuer");
    policy = "{\"issuers\":\"https://sso.example.com/realms/x\"}";
    CHECK_STATUS(xca_verifier_new_remote(u8(policy), strlen(policy), u8("{}"), 0, NULL), XCA_NULL_ARGUMENT,
                 "out NULL");
    CHECK_STATUS(xca_verifier_new_remote(NULL, 0, NULL, 0, &v), XCA_INVALID_CONFIG, "policy NULL");
    CHECK_STATUS(xca_verifier_new_remote(u8(policy), strlen(policy), NULL, 3, &v), XCA_NULL_ARGUMENT,
                 "options NULL with a length");
    CHECK_STATUS(xca_verifier_refresh(NULL), XCA_NULL_ARGUMENT, "refresh NULL");
    size_t len = 0;
    CHECK_STATUS(xca_verifier_status_json(NULL, NULL, 0, &len), XCA_NULL_ARGUMENT, "status NULL");

    /* A local verifier: no refresh, status says so. */
    char *keys = read_file(getenv("XCA_EXAMPLE_JWKS"), NULL, 0);
    policy = "{\"issuers\":\"https://sso.example.com/realms/demo\"}";
    CHECK_STATUS(xca_verifier_new(u8(keys), strlen(keys), u8(policy), strlen(policy), &v), XCA_OK, "local");
    CHECK_STATUS(xca_verifier_refresh(v), XCA_INVALID_ARGUMENT, "refresh on a local verifier");
    st = status_json(v);
    CHECK(strcmp(st, "{\"issuers\":[],\"remote\":false}") == 0 || strstr(st, "\"remote\":false"),
          "local status: %s", st);
    free(st);
    xca_verifier_free(v);
    free(keys);
}

/* Issuer down at start: keys_unavailable (503), fail_fast refuses, then recovery. */
static void test_down_then_recovery(void)
{
    ctl(NULL, 0, "/ctl/down/keys/k1=A");
    ctl(NULL, 0, "/ctl/down/mode/down");
    char *tok = token("down", "k1", "A");
    xca_status s;
    xca_verifier *v = remote("down", NULL, "{\"timeout\":1,\"fail_fast\":true}", &s);
    CHECK_STATUS(s, XCA_KEYS_UNAVAILABLE, "fail_fast with the issuer down");
    CHECK(v == NULL, "no handle");

    v = remote("down", NULL, "{\"timeout\":1,\"refresh_cooldown\":0.3}", &s);
    CHECK_STATUS(s, XCA_OK, "lazy verifier with the issuer down");
    s = verify(v, tok);
    CHECK_STATUS(s, XCA_KEYS_UNAVAILABLE, "verify while down");
    CHECK(xca_http_status(s) == 503, "keys_unavailable is 503, got %u", xca_http_status(s));
    char msg[512];
    last_error(msg, sizeof msg);
    CHECK(strncmp(msg, "keys_unavailable:", 17) == 0, "message: %s", msg);
    CHECK_STATUS(xca_verifier_refresh(v), XCA_KEYS_UNAVAILABLE, "refresh while down");
    char *st = status_json(v);
    CHECK(strstr(st, "\"last_error\":\"") && strstr(st, "\"kids\":[]") && strstr(st, "\"last_success\":null"),
          "status while down: %s", st);
    free(st);

    /* Recovery by itself: once the cooldown has passed, a verify refetches. */
    ctl(NULL, 0, "/ctl/down/mode/ok");
    sleep_ms(400);
    CHECK_STATUS(verify(v, tok), XCA_OK, "verify after the issuer came back");
    st = status_json(v);
    CHECK(strstr(st, "\"kids\":[\"k1\"]") && strstr(st, "\"last_error\":null"), "status after recovery: %s", st);
    free(st);
    xca_verifier_free(v);

    /* And through xca_verifier_refresh, fail_fast now passes. */
    v = remote("down", NULL, "{\"timeout\":1,\"fail_fast\":true}", &s);
    CHECK_STATUS(s, XCA_OK, "fail_fast with the issuer up");
    CHECK_STATUS(verify(v, tok), XCA_OK, "verify after fail_fast");
    xca_verifier_free(v);
    free(tok);
}

/* One byte every 0.5 s: the fetch is cut off at the deadline, not at the end of the body. */
static void test_trickle(void)
{
    ctl(NULL, 0, "/ctl/trickle/keys/k1=A");
    ctl(NULL, 0, "/ctl/trickle/mode/trickle");
    char *tok = token("trickle", "k1", "A");
    xca_status s;
    xca_verifier *v = remote("trickle", NULL, "{\"timeout\":1}", &s);
    CHECK_STATUS(s, XCA_OK, "trickle verifier");
    double t0 = now_ms();
    s = verify(v, tok);
    double verify_ms = now_ms() - t0;
    CHECK_STATUS(s, XCA_KEYS_UNAVAILABLE, "verify against a trickling JWKS");
    t0 = now_ms();
    CHECK_STATUS(xca_verifier_refresh(v), XCA_KEYS_UNAVAILABLE, "refresh against a trickling JWKS");
    double refresh_ms = now_ms() - t0;
    printf("trickle: deadline 1000 ms, verify answered in %.0f ms, refresh in %.0f ms\n", verify_ms,
           refresh_ms);
    double bound = g_slow ? 2500 : 1300;
    CHECK(verify_ms < bound, "verify took %.0f ms", verify_ms);
    CHECK(refresh_ms < bound, "refresh took %.0f ms", refresh_ms);
    CHECK(verify_ms > 900, "verify did wait for the fetch (%.0f ms)", verify_ms);
    xca_verifier_free(v);
    ctl(NULL, 0, "/ctl/trickle/mode/ok");
    free(tok);
}

/* 20 threads with 20 unknown kids against a slow JWKS: one fetch, all within the deadline. */
#define CROWD 20
static xca_verifier *g_crowd_v;
static char *g_crowd_tok[CROWD];
static xca_status g_crowd_status[CROWD];
static double g_crowd_ms[CROWD];
static atomic_int g_crowd_go;

static void *crowd_thread(void *arg)
{
    int i = (int)(intptr_t)arg;
    while (!atomic_load(&g_crowd_go)) {
    }
    double t0 = now_ms();
    g_crowd_status[i] = verify(g_crowd_v, g_crowd_tok[i]);
    g_crowd_ms[i] = now_ms() - t0;
    return NULL;
}

static void test_crowd(void)
{
    char keys[1024] = "", kid[16];
    ctl(NULL, 0, "/ctl/crowd/keys/old=A");
    xca_status s;
    g_crowd_v = remote("crowd", NULL, "{\"timeout\":3,\"refresh_cooldown\":0.5}", &s);
    CHECK_STATUS(s, XCA_OK, "crowd verifier");
    CHECK_STATUS(xca_verifier_refresh(g_crowd_v), XCA_OK, "first fetch");
    for (int i = 0; i < CROWD; i++) {
        snprintf(kid, sizeof kid, "new%d", i);
        g_crowd_tok[i] = token("crowd", kid, "B");
        strcat(keys, kid);
        strcat(keys, "=B,");
    }
    sleep_ms(600); /* past the cooldown */
    ctl(NULL, 0, "/ctl/crowd/keys/%s", keys);
    ctl(NULL, 0, "/ctl/crowd/mode/slow/1");
    unsigned before = certs_hits("crowd");
    pthread_t th[CROWD];
    atomic_store(&g_crowd_go, 0);
    for (int i = 0; i < CROWD; i++)
        if (pthread_create(&th[i], NULL, crowd_thread, (void *)(intptr_t)i) != 0)
            die("pthread_create");
    atomic_store(&g_crowd_go, 1);
    double worst = 0;
    int ok = 0;
    for (int i = 0; i < CROWD; i++) {
        pthread_join(th[i], NULL);
        ok += g_crowd_status[i] == XCA_OK;
        if (g_crowd_ms[i] > worst)
            worst = g_crowd_ms[i];
    }
    unsigned fetches = certs_hits("crowd") - before;
    printf("crowd: %d concurrent unknown kids, 1 s JWKS, deadline 3000 ms: %u JWKS fetch(es), %d ok, "
           "slowest answer %.0f ms\n",
           CROWD, fetches, ok, worst);
    CHECK(fetches == 1, "%u fetches", fetches);
    CHECK(ok == CROWD, "%d of %d valid", ok, CROWD);
    CHECK(worst < (g_slow ? 5000 : 3200), "slowest %.0f ms", worst);
    ctl(NULL, 0, "/ctl/crowd/mode/ok");
    xca_verifier_free(g_crowd_v);
    for (int i = 0; i < CROWD; i++)
        free(g_crowd_tok[i]);
}

/* A refresh that fails or brings no usable key keeps the last good keys. */
static void test_last_good(void)
{
    ctl(NULL, 0, "/ctl/lkg/keys/k1=A");
    char *tok = token("lkg", "k1", "A");
    char *unknown = token("lkg", "k9", "B");
    xca_status s;
    xca_verifier *v = remote("lkg", NULL, "{\"timeout\":1,\"refresh_cooldown\":0}", &s);
    CHECK_STATUS(verify(v, tok), XCA_OK, "first verify fetches");
    const char *modes[] = {"unusable", "down", "redirect"};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        ctl(NULL, 0, "/ctl/lkg/mode/%s", modes[i]);
        CHECK_STATUS(xca_verifier_refresh(v), XCA_KEYS_UNAVAILABLE, modes[i]);
        CHECK_STATUS(verify(v, tok), XCA_OK, modes[i]);
        /* An unknown kid refetches (cooldown 0), fails, and is still unknown_kid. */
        CHECK_STATUS(verify(v, unknown), XCA_UNKNOWN_KID, modes[i]);
        char *st = status_json(v);
        CHECK(strstr(st, "\"kids\":[\"k1\"]") && !strstr(st, "\"last_error\":null"), "%s: %s", modes[i], st);
        if (strcmp(modes[i], "redirect") == 0)
            CHECK(strstr(st, "redirect") != NULL, "redirect named: %s", st);
        free(st);
    }
    ctl(NULL, 0, "/ctl/lkg/mode/ok");
    CHECK_STATUS(xca_verifier_refresh(v), XCA_OK, "refresh after the realm healed");
    xca_verifier_free(v);
    free(tok);
    free(unknown);
}

/* A redirect is never followed, even to the same realm's JWKS. */
static void test_redirect(void)
{
    ctl(NULL, 0, "/ctl/redir/keys/k1=A");
    ctl(NULL, 0, "/ctl/redir/mode/redirect");
    char *tok = token("redir", "k1", "A");
    xca_status s;
    xca_verifier *v = remote("redir", NULL, "{\"timeout\":1}", &s);
    CHECK_STATUS(xca_verifier_refresh(v), XCA_KEYS_UNAVAILABLE, "refresh against a redirect");
    char msg[512];
    last_error(msg, sizeof msg);
    CHECK(strstr(msg, "redirect") != NULL, "message: %s", msg);
    CHECK_STATUS(verify(v, tok), XCA_KEYS_UNAVAILABLE, "verify with only a redirect to go on");
    xca_verifier_free(v);
    free(tok);
}

/* Two realms whose JWKS share a kid: each token verifies with its own realm's key only. */
static void test_shared_kid(void)
{
    ctl(NULL, 0, "/ctl/ra/keys/shared=A");
    ctl(NULL, 0, "/ctl/rb/keys/shared=B");
    char *ta = token("ra", "shared", "A");
    char *tb = token("rb", "shared", "B");
    char *forged = token("rb", "shared", "A"); /* realm-B claims, realm-A key */
    xca_status s;
    xca_verifier *v = remote("ra", "rb", "{\"timeout\":1,\"fail_fast\":true}", &s);
    CHECK_STATUS(s, XCA_OK, "two realms");
    CHECK_STATUS(verify(v, ta), XCA_OK, "realm A token");
    CHECK_STATUS(verify(v, tb), XCA_OK, "realm B token");
    s = verify(v, forged);
    CHECK(s != XCA_OK, "realm-B token signed with realm A's key: %s", xca_status_name(s));
    CHECK_STATUS(s, XCA_WRONG_ISSUER, "realm-B token signed with realm A's key");
    xca_verifier_free(v);
    free(ta);
    free(tb);
    free(forged);
}

/* 4 threads verify while the realm's keys rotate ROTATIONS times. */
static xca_verifier *g_rot_v;
static char *g_rot_tok, *g_rot_probe;
static atomic_int g_rot_done;
static atomic_ulong g_rot_wrong, g_rot_checks, g_rot_probe_ok, g_rot_probe_unknown;

static void *rot_reader(void *arg)
{
    (void)arg;
    unsigned long rounds = 0;
    while (!atomic_load(&g_rot_done) || rounds < 3) {
        xca_status s = verify(g_rot_v, g_rot_tok);
        atomic_fetch_add(&g_rot_checks, 1);
        if (s != XCA_OK) {
            atomic_fetch_add(&g_rot_wrong, 1);
            fprintf(stderr, "rotation: token got %s\n", xca_status_name(s));
        }
        s = verify(g_rot_v, g_rot_probe);
        atomic_fetch_add(&g_rot_checks, 1);
        if (s == XCA_OK) {
            atomic_fetch_add(&g_rot_probe_ok, 1);
        } else if (s == XCA_UNKNOWN_KID) {
            atomic_fetch_add(&g_rot_probe_unknown, 1);
        } else {
            atomic_fetch_add(&g_rot_wrong, 1);
            fprintf(stderr, "rotation: probe got %s\n", xca_status_name(s));
        }
        rounds++;
    }
    return NULL;
}

static void test_rotation(int rotations)
{
    ctl(NULL, 0, "/ctl/rot/keys/stay=A");
    g_rot_tok = token("rot", "stay", "A");
    g_rot_probe = token("rot", "come-and-go", "B");
    xca_status s;
    /* A long cooldown: the probe's unknown kid never triggers a fetch of its own. */
    g_rot_v = remote("rot", NULL,
                     g_slow ? "{\"timeout\":20,\"refresh_cooldown\":3600}" : "{\"timeout\":2,\"refresh_cooldown\":3600}",
                     &s);
    CHECK_STATUS(xca_verifier_refresh(g_rot_v), XCA_OK, "first fetch");
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        if (pthread_create(&th[i], NULL, rot_reader, NULL) != 0)
            die("pthread_create");
    int failed_refresh = 0;
    double t0 = now_ms();
    for (int i = 0; i < rotations; i++) {
        if (i % 2 == 0)
            ctl(NULL, 0, "/ctl/rot/keys/stay=A,come-and-go=B");
        else
            ctl(NULL, 0, "/ctl/rot/keys/stay=A");
        failed_refresh += xca_verifier_refresh(g_rot_v) != XCA_OK;
    }
    double ms = now_ms() - t0;
    atomic_store(&g_rot_done, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    printf("rotation: %d rotations in %.0f ms under 4 verifying threads: %lu checks, %lu wrong, "
           "probe valid %lu / unknown_kid %lu\n",
           rotations, ms, atomic_load(&g_rot_checks), atomic_load(&g_rot_wrong), atomic_load(&g_rot_probe_ok),
           atomic_load(&g_rot_probe_unknown));
    CHECK(failed_refresh == 0, "%d refreshes failed", failed_refresh);
    CHECK(atomic_load(&g_rot_wrong) == 0, "%lu wrong verdicts", atomic_load(&g_rot_wrong));
    CHECK(atomic_load(&g_rot_probe_ok) > 0 && atomic_load(&g_rot_probe_unknown) > 0,
          "readers saw both key sets (%lu / %lu)", atomic_load(&g_rot_probe_ok),
          atomic_load(&g_rot_probe_unknown));
    char *st = status_json(g_rot_v);
    char want[64];
    snprintf(want, sizeof want, "\"fetch_count\":%d", rotations + 1);
    CHECK(strstr(st, want) != NULL, "status after rotations (%s): %s", want, st);
    free(st);
    xca_verifier_free(g_rot_v);
    free(g_rot_tok);
    free(g_rot_probe);
}

int main(int argc, char **argv)
{
    const char *base = getenv("XCA_REALM");
    if (!base || argc < 2 || !getenv("XCA_EXAMPLE_JWKS"))
        die("usage: XCA_EXAMPLE_JWKS=jwks.json hostile_realm.py %s ROTATIONS [SLOW]", argv[0]);
    snprintf(g_base, sizeof g_base, "%s", base);
    const char *colon = strrchr(base, ':');
    g_port = colon ? atoi(colon + 1) : 0;
    if (g_port <= 0)
        die("bad XCA_REALM %s", base);
    int rotations = atoi(argv[1]);
    g_slow = argc > 2 && atoi(argv[2]) != 0;

    test_arguments();
    test_down_then_recovery();
    test_trickle();
    test_crowd();
    test_last_good();
    test_redirect();
    test_shared_kid();
    test_rotation(rotations);
    return finish("test_remote");
}
