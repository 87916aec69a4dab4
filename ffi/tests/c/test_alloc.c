/*
 * xca_verify / xca_verify_header allocate nothing outside the crypto library.
 *
 * This program defines malloc, calloc, realloc, posix_memalign, aligned_alloc and
 * memalign itself (forwarding to glibc's __libc_* entry points), so every allocation
 * libxconnauth.so makes passes through here. Each call is attributed by its return
 * address: inside aws-lc's OPENSSL_malloc family (the crypto library's own allocations,
 * allowed: EVP contexts and bignums of the RSA check), or anything else (Rust code,
 * which must allocate nothing). The symbol ranges come from `nm -S` of the library
 * (run_c_tests.sh writes them); addresses are relative to where the library is loaded.
 *
 * Counted after one warm-up call per kind on this thread (a thread's first call sets
 * up its arc-swap slot and thread-local destructors, once per thread):
 *   valid, expired, bad signature, malformed, too large, header forms;
 *   verdict only (NULL, 0, NULL), size query (NULL, 0, &len), and a buffer (the copy).
 * Rust/other allocations must be 0 everywhere; aws-lc's count must be > 0 for tokens
 * that reach the signature check (else the interposition saw nothing and proves
 * nothing) and 0 for those refused before it.
 *
 * Only for the plain build: ASan and valgrind replace malloc themselves.
 *
 * usage: test_alloc EXAMPLES_DIR SYMBOLS_FILE  (lines of `nm -S`: addr size type name)
 */
#include "common.h"

#include <dlfcn.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

enum { CRYPTO, RUST, OTHER, KINDS };
static const char *const kind_names[KINDS] = {"aws-lc", "rust", "other"};

struct range {
    uintptr_t start, end;
    int kind;
};
static struct range g_ranges[64];
static size_t g_nranges;
static uintptr_t g_base; /* where libxconnauth.so is loaded */

static __thread int t_armed;
static unsigned long g_count[KINDS];
static uintptr_t g_last_other; /* a return address for the failure message */

static void note(void *ret)
{
    if (!t_armed)
        return;
    uintptr_t a = (uintptr_t)ret;
    int kind = OTHER;
    for (size_t i = 0; i < g_nranges; i++)
        if (a >= g_ranges[i].start && a < g_ranges[i].end) {
            kind = g_ranges[i].kind;
            break;
        }
    /* A tail call from Rust's allocator shim returns into its caller: still not aws-lc. */
    if (kind == OTHER)
        g_last_other = a;
    g_count[kind]++;
}

void *malloc(size_t n)
{
    note(__builtin_return_address(0));
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    note(__builtin_return_address(0));
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    note(__builtin_return_address(0));
    return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    note(__builtin_return_address(0));
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    note(__builtin_return_address(0));
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    note(__builtin_return_address(0));
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return 22; /* EINVAL */
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* Loads the ranges of the allocation entry points of libxconnauth.so. */
static void load_ranges(const char *path)
{
    Dl_info info;
    if (!dladdr((void *)xca_version, &info) || !info.dli_fbase)
        die("dladdr(xca_version) failed");
    uintptr_t base = g_base = (uintptr_t)info.dli_fbase;
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s", path);
    char line[512], type[8], name[400];
    unsigned long long addr, size;
    int crypto = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%llx %llx %7s %399s", &addr, &size, type, name) != 4)
            continue;
        if (g_nranges == sizeof g_ranges / sizeof g_ranges[0])
            die("too many symbols in %s", path);
        int kind = strstr(name, "OPENSSL_") ? CRYPTO : strstr(name, "__rdl_") ? RUST : -1;
        if (kind < 0)
            die("unexpected symbol %s in %s", name, path);
        crypto += kind == CRYPTO;
        g_ranges[g_nranges++] = (struct range){base + addr, base + addr + size, kind};
    }
    fclose(f);
    if (!crypto)
        die("%s names no OPENSSL_malloc: allocations cannot be attributed", path);
}

static xca_verifier *g_v;

typedef xca_status (*verify_fn)(const xca_verifier *, const uint8_t *, size_t, int64_t, uint8_t *,
                                size_t, size_t *);

#define NOW 1764000000
#define ROUNDS 50

/* One case: ROUNDS x (verdict only, size query, buffer), counted after a warm-up. */
static void run(const char *what, verify_fn fn, const char *data, xca_status want, int reaches_rsa)
{
    size_t len = strlen(data), need = 0, got = 0;
    static uint8_t buf[1 << 15];
    xca_status s[3];
    /* Warm-up (also sizes the answer). */
    fn(g_v, u8(data), len, NOW, NULL, 0, NULL);
    fn(g_v, u8(data), len, NOW, NULL, 0, &need);
    unsigned long before[KINDS];
    memcpy(before, g_count, sizeof before);
    t_armed = 1;
    for (int i = 0; i < ROUNDS; i++) {
        s[0] = fn(g_v, u8(data), len, NOW, NULL, 0, NULL);
        s[1] = fn(g_v, u8(data), len, NOW, NULL, 0, &need);
        s[2] = fn(g_v, u8(data), len, NOW, buf, sizeof buf, &got);
    }
    t_armed = 0;
    unsigned long n[KINDS];
    for (int k = 0; k < KINDS; k++)
        n[k] = g_count[k] - before[k];
    CHECK_STATUS(s[0], want, what);
    CHECK_STATUS(s[1], want == XCA_OK ? XCA_BUFFER_TOO_SMALL : want, what);
    CHECK_STATUS(s[2], want, what);
    if (want == XCA_OK)
        CHECK(got == need && got > 0, "%s: %zu bytes copied, %zu needed", what, got, need);
    CHECK(n[RUST] == 0 && n[OTHER] == 0,
          "%s: %lu Rust and %lu other allocations in %d calls (last caller %#lx, library offset %#lx)",
          what, n[RUST], n[OTHER], 3 * ROUNDS, (unsigned long)g_last_other,
          (unsigned long)(g_last_other - g_base));
    if (reaches_rsa)
        CHECK(n[CRYPTO] > 0, "%s: no aws-lc allocation seen: the interposition is not working", what);
    else
        CHECK(n[CRYPTO] == 0, "%s: %lu aws-lc allocations before any signature check", what, n[CRYPTO]);
    printf("%-34s %s: %6.2f per call (%s), %lu Rust, %lu other\n", what, xca_status_name(want),
           (double)n[CRYPTO] / (3 * ROUNDS), kind_names[CRYPTO], n[RUST], n[OTHER]);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: %s EXAMPLES_DIR SYMBOLS_FILE", argv[0]);
    load_ranges(argv[2]);
    const char *dir = argv[1];
    size_t jwks_len, policy_len;
    char *jwks = read_file(path_join(dir, "jwks.json"), &jwks_len, 0);
    char *policy = read_file(path_join(dir, "policy.json"), &policy_len, 0);
    char *token = read_file(path_join(dir, "token.jwt"), NULL, 1);
    char *expired = read_file(path_join(dir, "expired.jwt"), NULL, 1);
    char *tampered = read_file(path_join(dir, "tampered.jwt"), NULL, 1);
    if (xca_verifier_new(u8(jwks), jwks_len, u8(policy), policy_len, &g_v) != XCA_OK)
        die("xca_verifier_new failed");

    /* The counter itself works: a plain malloc from here is "other". */
    void *(*volatile alloc)(size_t) = malloc; /* not elided with its free */
    t_armed = 1;
    void *probe = alloc(16);
    t_armed = 0;
    CHECK(g_count[OTHER] == 1, "the malloc interposition counted %lu", g_count[OTHER]);
    free(probe);
    g_count[OTHER] = 0;

    char *bearer = concat("Bearer ", token, NULL);
    char *long_token = malloc(20001);
    memset(long_token, 'a', 20000);
    long_token[20000] = '\0';

    run("xca_verify valid", xca_verify, token, XCA_OK, 1);
    run("xca_verify expired", xca_verify, expired, XCA_EXPIRED, 1);
    run("xca_verify bad signature", xca_verify, tampered, XCA_BAD_SIGNATURE, 1);
    run("xca_verify malformed", xca_verify, "not-a-token", XCA_MALFORMED, 0);
    run("xca_verify too large", xca_verify, long_token, XCA_TOO_LARGE, 0);
    run("xca_verify_header valid", xca_verify_header, bearer, XCA_OK, 1);
    run("xca_verify_header Basic", xca_verify_header, "Basic dXNlcjpwdw==", XCA_MALFORMED, 0);

    /* The message of a counted failure is still there, built when asked. */
    xca_verify(g_v, u8(expired), strlen(expired), NOW, NULL, 0, NULL);
    char msg[256];
    size_t msg_len = 0;
    CHECK_STATUS(xca_last_error_message(msg, sizeof msg, &msg_len), XCA_OK, "last error");
    CHECK(strncmp(msg, "expired: ", 9) == 0, "message: %s", msg);

    xca_verifier_free(g_v);
    free(long_token);
    free(bearer);
    free(jwks);
    free(policy);
    free(token);
    free(expired);
    free(tampered);
    return finish("test_alloc");
}
