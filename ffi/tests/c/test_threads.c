/*
 * One verifier shared by 4 verifying threads while a 5th swaps its JWKS back and forth
 * SWAPS times: no swap may fail, and no verification may give a wrong verdict.
 *
 * usage: test_threads JWKS_A JWKS_B POLICY TOKEN EXPIRED TAMPERED PROBE SWAPS
 *
 * Both key sets hold the example token's key, so TOKEN is always valid, EXPIRED always
 * expired and TAMPERED always a bad signature. PROBE is a token whose key is only in
 * JWKS_B: it is unknown_kid under A and (being old) expired under B; seeing both
 * proves the readers observed the swaps, and anything else is a torn key set.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "common.h"

#define NOW 1764000000LL
#define READERS 4

static xca_verifier *g_v;
static char *g_token, *g_expired, *g_tampered, *g_probe;
static atomic_int g_done;
static atomic_ulong g_wrong, g_checks, g_probe_a, g_probe_b;

static void expect(xca_status got, xca_status want, const char *what)
{
    atomic_fetch_add(&g_checks, 1);
    if (got != want) {
        atomic_fetch_add(&g_wrong, 1);
        fprintf(stderr, "wrong verdict for %s: %s\n", what, xca_status_name(got));
    }
}

static void *reader(void *arg)
{
    int id = (int)(intptr_t)arg;
    size_t tl = strlen(g_token);
    uint8_t claims[4096];
    char msg[256];
    unsigned long rounds = 0;
    /* At least a few rounds even if the swapper is already done. */
    while (!atomic_load(&g_done) || rounds < 3) {
        size_t len = 0;
        xca_status s;
        if (id % 2 == 0) {
            s = xca_verify(g_v, u8(g_token), tl, NOW, claims, sizeof claims, &len);
        } else {
            char *h = concat("Bearer ", g_token, (char *)NULL);
            s = xca_verify_header(g_v, u8(h), strlen(h), NOW, claims, sizeof claims, &len);
            free(h);
        }
        expect(s, XCA_OK, "token");
        if (s == XCA_OK && (len < 2 || claims[0] != '{' || claims[len - 1] != '}'))
            expect(XCA_PANIC, XCA_OK, "claims");
        expect(xca_verify(g_v, u8(g_expired), strlen(g_expired), NOW, NULL, 0, NULL), XCA_EXPIRED, "expired");
        s = xca_verify(g_v, u8(g_tampered), strlen(g_tampered), NOW, NULL, 0, NULL);
        expect(s, XCA_BAD_SIGNATURE, "tampered");
        /* The last-error slot is per thread: it names this thread's last failure. */
        size_t ml = 0;
        if (xca_last_error_message(msg, sizeof msg, &ml) != XCA_OK || strncmp(msg, "bad_signature: ", 15) != 0)
            expect(XCA_PANIC, XCA_OK, "thread-local message");
        s = xca_verify(g_v, u8(g_probe), strlen(g_probe), NOW, NULL, 0, NULL);
        if (s == XCA_UNKNOWN_KID)
            atomic_fetch_add(&g_probe_a, 1);
        else if (s == XCA_EXPIRED)
            atomic_fetch_add(&g_probe_b, 1);
        else
            expect(s, XCA_EXPIRED, "probe (unknown_kid or expired)");
        rounds++;
    }
    return NULL;
}

/* Waits up to 120 s for *counter to move past before; false on timeout. */
static int wait_for_change(atomic_ulong *counter, unsigned long before)
{
    const struct timespec ms = {0, 1000000};
    for (int waited = 0; waited < 120000; waited++) {
        if (atomic_load(counter) != before)
            return 1;
        nanosleep(&ms, NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 9)
        die("usage: %s JWKS_A JWKS_B POLICY TOKEN EXPIRED TAMPERED PROBE SWAPS", argv[0]);
    size_t a_len, b_len, p_len;
    char *a = read_file(argv[1], &a_len, 0), *b = read_file(argv[2], &b_len, 0);
    char *policy = read_file(argv[3], &p_len, 0);
    g_token = read_file(argv[4], NULL, 1);
    g_expired = read_file(argv[5], NULL, 1);
    g_tampered = read_file(argv[6], NULL, 1);
    g_probe = read_file(argv[7], NULL, 1);
    long swaps = strtol(argv[8], NULL, 10);

    xca_status s = xca_verifier_new(u8(a), a_len, u8(policy), p_len, &g_v);
    if (s != XCA_OK)
        die("xca_verifier_new: %s", xca_status_name(s));

    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++)
        if (pthread_create(&t[i], NULL, reader, (void *)(intptr_t)i) != 0)
            die("pthread_create");

    unsigned long failed_swaps = 0, unseen_swaps = 0;
    for (long i = 0; i < swaps; i++) {
        const char *j = i % 2 == 0 ? b : a;
        size_t jl = i % 2 == 0 ? b_len : a_len;
        atomic_ulong *seen = i % 2 == 0 ? &g_probe_b : &g_probe_a;
        unsigned long before = atomic_load(seen);
        if (xca_verifier_set_jwks(g_v, u8(j), jl) != XCA_OK)
            failed_swaps++;
        /* Most swaps race the readers freely; every fourth pair waits until a reader has
         * seen the new set, so the test proves readers observe swaps whatever the
         * scheduler does (valgrind runs one thread at a time and may starve this one). */
        if (i % 8 < 2 && !wait_for_change(seen, before))
            unseen_swaps++;
        /* A bad JWKS now and then: refused, and the current keys stay. */
        if (i % 100 == 0 && xca_verifier_set_jwks(g_v, u8("{\"keys\":[]}"), 11) != XCA_INVALID_CONFIG)
            failed_swaps++;
    }
    /* End on A, so the probe is unknown_kid at the end. */
    if (xca_verifier_set_jwks(g_v, u8(a), a_len) != XCA_OK)
        failed_swaps++;
    atomic_store(&g_done, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(t[i], NULL);

    CHECK(failed_swaps == 0, "%lu swaps failed", failed_swaps);
    CHECK(unseen_swaps == 0, "%lu swaps were never seen by a reader within 120 s", unseen_swaps);
    CHECK(atomic_load(&g_wrong) == 0, "%lu wrong verdicts of %lu", atomic_load(&g_wrong), atomic_load(&g_checks));
    CHECK(atomic_load(&g_checks) > 0, "no verification ran");
    CHECK_STATUS(xca_verify(g_v, u8(g_probe), strlen(g_probe), NOW, NULL, 0, NULL), XCA_UNKNOWN_KID, "probe on A");
    printf("test_threads: %ld swaps, %lu verdicts checked (probe saw set A %lu times, set B %lu times)\n", swaps,
           atomic_load(&g_checks), atomic_load(&g_probe_a), atomic_load(&g_probe_b));
    if (swaps >= 100)
        CHECK(atomic_load(&g_probe_b) > 0, "the readers never saw set B");

    xca_verifier_free(g_v);
    free(a), free(b), free(policy), free(g_token), free(g_expired), free(g_tampered), free(g_probe);
    return finish("test_threads");
}
