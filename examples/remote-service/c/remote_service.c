/*
 * remote_service: a small HTTP/1.1 service that validates Keycloak bearer tokens itself,
 * through libxconnauth, and answers GET /api/data only to tokens with the right issuer,
 * audience and scope.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -O2 -pthread remote_service.c \
 *      $(pkg-config --cflags --libs xconnauth) -o remote_service
 *   ./remote_service --issuer https://sso.example.com/realms/demo \
 *      --audience remote-service --scope data:read
 *
 * By default the keys come from the issuer itself, through libxconnauth's key engine
 * (xca_verifier_new_remote): OIDC discovery, the JWKS cached for its max-age, refetched
 * on an unknown kid at most once per --cooldown, each fetch bounded by --fetch-timeout;
 * a failed fetch keeps the last good keys, and until the first success the service
 * answers 503. SIGHUP asks for a refresh now; GET /healthz reports the engine's state.
 *
 * With --jwks FILE the keys come from a file instead, never from the network: a sidecar
 * or a cron job fetches <issuer>/protocol/openid-connect/certs and replaces the file
 * (write + rename). The file is reloaded on SIGHUP, when its identity (inode, size,
 * mtime) changes (checked about once a second), and when a token names a key the
 * current set lacks. A file that fails to load leaves the last good keys in use.
 *
 * The HTTP side is deliberately tiny and strict, because it faces untrusted clients: one
 * request per connection (always "Connection: close", so there is no pipelining and no
 * request smuggling), the whole request head within a fixed buffer and a fixed deadline,
 * no request bodies, a bounded number of connections, and every header line checked
 * before it is used.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <xconnauth.h>

#define HEAD_MAX 8192          /* request line + headers; bigger heads get 431 */
#define MAX_HEADERS 64
#define JWKS_MAX (1024 * 1024) /* a realm's JWKS is a few KiB; refuse absurd files */
#define POLICY_MAX (64 * 1024)
#define CLAIMS_INITIAL 16384   /* the claims are shorter than the token (max 16 KiB) */
#define PROBLEM_TYPE_DEFAULT "about:blank"

struct config {
    const char *jwks_path; /* NULL: the keys come from the issuer (xca_verifier_new_remote) */
    const char *ca_file;
    const char *fetch_timeout;
    const char *cooldown;
    const char *refresh;
    const char *bind_addr;
    int port;
    const char *realm;
    const char *problem_type;
    int timeout_ms;
    int max_connections;
    int quiet;
};

static struct config g_cfg = {
    .bind_addr = "127.0.0.1",
    .port = 8080,
    .realm = "remote-service",
    .problem_type = PROBLEM_TYPE_DEFAULT,
    .timeout_ms = 5000,
    .max_connections = 64,
};

static xca_verifier *g_verifier;

/* Identity of the JWKS file last looked at, so a changed file is noticed cheaply. */
struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};
static struct file_id g_jwks_id;
static pthread_mutex_t g_reload_lock = PTHREAD_MUTEX_INITIALIZER;

static volatile sig_atomic_t g_hup;
static volatile sig_atomic_t g_stop;
static atomic_int g_active;

static void log_line(const char *fmt, ...)
{
    if (g_cfg.quiet)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line, so lines from several threads do not interleave. */
    fprintf(stderr, "remote-service: %s\n", line);
}

static const char *last_error(char *buf, size_t cap)
{
    size_t len;
    if (xca_last_error_message(buf, cap, &len) != XCA_OK)
        snprintf(buf, cap, "(message too long)");
    return buf;
}

static int same_file(const struct file_id *a, const struct stat *st)
{
    return a->dev == st->st_dev && a->ino == st->st_ino && a->size == st->st_size &&
           a->mtime.tv_sec == st->st_mtim.tv_sec && a->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void remember_file(struct file_id *id, const struct stat *st)
{
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
}

/* Reads a whole regular file of at most `max` bytes; NULL (with a message) otherwise.
 * `st` receives the identity of the file that was actually read. */
static char *read_file(const char *path, size_t max, size_t *len, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_line("%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        log_line("%s: not a regular file", path);
        goto out;
    }
    if (st->st_size < 0 || (uintmax_t)st->st_size > max) {
        log_line("%s: larger than %zu bytes", path, max);
        goto out;
    }
    size_t want = (size_t)st->st_size, got = 0;
    buf = malloc(want + 1);
    if (!buf)
        goto out;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* truncated under us: use what is there, the parser will judge it */
        got += (size_t)n;
    }
    buf[got] = '\0';
    *len = got;
out:
    close(fd);
    return buf;
}

/* Swaps in the JWKS file if it changed since the last look (or always, when `force`).
 * Returns 1 if new keys are now in use. A file that does not load is remembered too, so a
 * broken file is reported once, not every second; the previous keys stay in use. */
static int reload_jwks(int force)
{
    int swapped = 0;
    pthread_mutex_lock(&g_reload_lock);
    struct stat st;
    if (stat(g_cfg.jwks_path, &st) != 0) {
        if (force)
            log_line("reload: %s: %s; keeping the current keys", g_cfg.jwks_path, strerror(errno));
        goto out;
    }
    if (!force && same_file(&g_jwks_id, &st))
        goto out;
    size_t len = 0;
    char *jwks = read_file(g_cfg.jwks_path, JWKS_MAX, &len, &st);
    remember_file(&g_jwks_id, &st);
    if (!jwks) {
        log_line("reload failed; keeping the current keys");
        goto out;
    }
    xca_status s = xca_verifier_set_jwks(g_verifier, (const uint8_t *)jwks, len);
    free(jwks);
    if (s == XCA_OK) {
        swapped = 1;
        log_line("reload: new keys from %s", g_cfg.jwks_path);
    } else {
        char msg[256];
        log_line("reload rejected (%s); keeping the current keys", last_error(msg, sizeof msg));
    }
out:
    pthread_mutex_unlock(&g_reload_lock);
    return swapped;
}

/* ---- output ---------------------------------------------------------------------- */

/* Sends everything or gives up; SO_SNDTIMEO bounds each blocking send. */
static int send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

/* `extra` is zero or more complete header lines ("Name: value\r\n"). */
static void respond(int fd, int status, const char *content_type, const char *extra, const char *body,
                    size_t body_len)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "Connection: close\r\n"
                     "%s\r\n",
                     status, reason(status), content_type, body_len, extra ? extra : "");
    if (n < 0 || (size_t)n >= sizeof head)
        return; /* cannot happen with our own short header values; never send a cut head */
    if (send_all(fd, head, (size_t)n) == 0)
        send_all(fd, body, body_len);
}

/* A ProblemDetails answer for a failure that is not a token category. */
static void respond_plain_problem(int fd, int status, const char *detail, const char *extra)
{
    char body[512];
    int n = snprintf(body, sizeof body, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}",
                     reason(status), status, detail);
    if (n < 0 || (size_t)n >= sizeof body)
        n = 0;
    respond(fd, status, "application/problem+json", extra, body, (size_t)n);
}

/* The answer for a rejected token: 401/403/503, RFC 6750 challenge, RFC 7807 body. `bare`
 * sends the challenge without an error code (RFC 6750 §3.1: the request had no token). */
static void respond_token_problem(int fd, xca_status s, int bare)
{
    char body[1024], www[512], extra[600];
    size_t body_len = 0, www_len = 0;
    int status = xca_http_status(s);
    if (status == 0 ||
        xca_problem_json(s, g_cfg.problem_type, "/api/data", body, sizeof body, &body_len) != XCA_OK ||
        (!bare && xca_www_authenticate(s, g_cfg.realm, www, sizeof www, &www_len) != XCA_OK)) {
        respond_plain_problem(fd, 500, "the token could not be checked", NULL);
        return;
    }
    if (bare)
        snprintf(www, sizeof www, "Bearer realm=\"%s\"", g_cfg.realm); /* realm checked at start */
    /* keys_unavailable (503): the realm is unreachable, not the token's fault. */
    int n = snprintf(extra, sizeof extra, "WWW-Authenticate: %s\r\n%s", www,
                     s == XCA_KEYS_UNAVAILABLE ? "Retry-After: 5\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof extra) {
        respond_plain_problem(fd, 500, "the token could not be checked", NULL);
        return;
    }
    respond(fd, status, "application/problem+json", extra, body, body_len);
}

/* ---- input ----------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads until the blank line that ends the head. Returns the head length (including the
 * final CRLFCRLF), 0 if the peer closed or the deadline passed, -1 if the head does not
 * fit in `cap` bytes. The whole head shares one deadline, so a client that trickles bytes
 * (slowloris) holds a connection slot for at most timeout_ms. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    long long deadline = now_ms() + g_cfg.timeout_ms;
    while (have < cap) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ssize_t n = recv(fd, buf + have, cap - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        /* Look for the terminator only around the new bytes. */
        size_t from = have >= 3 ? have - 3 : 0;
        have += (size_t)n;
        for (size_t i = from; i + 4 <= have; i++)
            if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
                return (ssize_t)(i + 4);
    }
    return -1;
}

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

struct request {
    const char *method;
    size_t method_len;
    const char *path; /* the target without its query */
    size_t path_len;
    const char *auth; /* NULL if absent */
    size_t auth_len;
    int auth_count;
    int host_count;
    int has_body;
};

/* Parses the head in place. Returns 0, or the HTTP status to refuse the request with. */
static int parse_head(const char *buf, size_t len, struct request *rq)
{
    memset(rq, 0, sizeof *rq);
    const char *end = buf + len;
    const char *eol = NULL;
    for (const char *p = buf; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n') {
            eol = p;
            break;
        }
    if (!eol)
        return 400;

    /* request-line = method SP request-target SP HTTP-version */
    const char *p = buf;
    rq->method = p;
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    rq->method_len = (size_t)(p - rq->method);
    if (rq->method_len == 0 || p >= eol || *p != ' ')
        return 400;
    p++;
    const char *target = p;
    while (p < eol && *p > ' ' && *p < 0x7f)
        p++;
    size_t target_len = (size_t)(p - target);
    if (target_len == 0 || target[0] != '/' || p >= eol || *p != ' ')
        return 400;
    p++;
    size_t vlen = (size_t)(eol - p);
    if (vlen != 8 || memcmp(p, "HTTP/1.", 7) != 0)
        return 400;
    if (p[7] != '0' && p[7] != '1')
        return 505;
    int http11 = p[7] == '1';
    rq->path = target;
    rq->path_len = target_len;
    const char *q = memchr(target, '?', target_len);
    if (q)
        rq->path_len = (size_t)(q - target);

    /* header-field = field-name ":" OWS field-value OWS; no obs-fold, no bare CR/LF. */
    int headers = 0;
    p = eol + 2;
    while (p < end) {
        const char *line_end = NULL;
        for (const char *s = p; s + 1 < end; s++)
            if (s[0] == '\r' && s[1] == '\n') {
                line_end = s;
                break;
            }
        if (!line_end)
            return 400;
        if (line_end == p)
            break; /* the blank line: end of the head */
        if (++headers > MAX_HEADERS)
            return 431;
        const char *name = p;
        while (p < line_end && is_tchar((unsigned char)*p))
            p++;
        size_t name_len = (size_t)(p - name);
        if (name_len == 0 || p >= line_end || *p != ':')
            return 400; /* also rejects obs-fold and whitespace before the colon */
        p++;
        while (p < line_end && (*p == ' ' || *p == '\t'))
            p++;
        const char *value = p;
        const char *vend = line_end;
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        for (const char *c = value; c < vend; c++)
            if ((unsigned char)*c < 0x20 && *c != '\t')
                return 400; /* control characters (a bare CR or LF, NUL) */
        size_t value_len = (size_t)(vend - value);
        if (ieq(name, name_len, "authorization")) {
            rq->auth = value;
            rq->auth_len = value_len;
            rq->auth_count++;
        } else if (ieq(name, name_len, "host")) {
            rq->host_count++;
        } else if (ieq(name, name_len, "transfer-encoding")) {
            rq->has_body = 1;
        } else if (ieq(name, name_len, "content-length")) {
            if (!(value_len == 1 && value[0] == '0'))
                rq->has_body = 1;
        }
        p = line_end + 2;
    }
    if (http11 && rq->host_count != 1)
        return 400; /* RFC 9112 §3.2 */
    if (rq->host_count > 1 || rq->auth_count > 1)
        return 400;
    return 0;
}

static const char DATA_PREFIX[] =
    "{\"data\":[{\"id\":1,\"name\":\"alpha\",\"value\":42},{\"id\":2,\"name\":\"beta\",\"value\":7}],\"claims\":";

static void answer_data(int fd, const struct request *rq)
{
    if (!rq->auth) {
        respond_token_problem(fd, XCA_MALFORMED, 1);
        return;
    }
    uint8_t stack_claims[CLAIMS_INITIAL];
    uint8_t *claims = stack_claims;
    size_t claims_len = 0;
    xca_status s = xca_verify_header(g_verifier, (const uint8_t *)rq->auth, rq->auth_len, -1, claims,
                                     sizeof stack_claims, &claims_len);
    /* A kid we do not know may mean the realm rotated its keys and the sidecar has already
     * written them: look at the file now rather than at the next tick. */
    if (s == XCA_UNKNOWN_KID && g_cfg.jwks_path && reload_jwks(0))
        s = xca_verify_header(g_verifier, (const uint8_t *)rq->auth, rq->auth_len, -1, claims,
                              sizeof stack_claims, &claims_len);
    if (s == XCA_BUFFER_TOO_SMALL) {
        claims = malloc(claims_len);
        s = claims ? xca_verify_header(g_verifier, (const uint8_t *)rq->auth, rq->auth_len, -1, claims,
                                       claims_len, &claims_len)
                   : XCA_BUFFER_TOO_SMALL;
    }
    if (s == XCA_OK) {
        size_t prefix = sizeof DATA_PREFIX - 1;
        char *body = malloc(prefix + claims_len + 1);
        if (body) {
            memcpy(body, DATA_PREFIX, prefix);
            memcpy(body + prefix, claims, claims_len);
            body[prefix + claims_len] = '}';
            respond(fd, 200, "application/json", NULL, body, prefix + claims_len + 1);
            free(body);
        } else {
            respond_plain_problem(fd, 503, "out of memory", NULL);
        }
        log_line("GET /api/data -> 200");
    } else if (xca_http_status(s) != 0) {
        respond_token_problem(fd, s, 0);
        log_line("GET /api/data -> %d %s", xca_http_status(s), xca_status_name(s));
    } else {
        respond_plain_problem(fd, 500, "the token could not be checked", NULL);
        log_line("GET /api/data -> 500 %s", xca_status_name(s));
    }
    if (claims != stack_claims)
        free(claims);
}

/* {"status":"ok","keys":<xca_verifier_status_json>}: for a remote verifier, when the
 * keys were last fetched, the last error, the fetch count and the key ids per issuer. */
static void answer_health(int fd)
{
    char keys[8192];
    size_t len = 0;
    if (xca_verifier_status_json(g_verifier, keys, sizeof keys, &len) != XCA_OK) {
        respond(fd, 200, "application/json", NULL, "{\"status\":\"ok\"}", 15);
        return;
    }
    char body[8300];
    int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"keys\":%s}", keys);
    respond(fd, 200, "application/json", NULL, body, (size_t)n);
}

static void handle(int fd)
{
    char head[HEAD_MAX];
    ssize_t n = read_head(fd, head, sizeof head);
    if (n == 0)
        return; /* closed or too slow: nothing useful to say */
    if (n < 0) {
        respond_plain_problem(fd, 431, "the request head is too large", NULL);
        return;
    }
    struct request rq;
    int refuse = parse_head(head, (size_t)n, &rq);
    if (refuse) {
        respond_plain_problem(fd, refuse, "the request could not be parsed", NULL);
        return;
    }
    int data = rq.path_len == 9 && memcmp(rq.path, "/api/data", 9) == 0;
    int health = rq.path_len == 8 && memcmp(rq.path, "/healthz", 8) == 0;
    int get = rq.method_len == 3 && memcmp(rq.method, "GET", 3) == 0;
    if (!data && !health) {
        respond_plain_problem(fd, 404, "no such resource", NULL);
    } else if (!get) {
        respond_plain_problem(fd, 405, "only GET is allowed", "Allow: GET\r\n");
    } else if (rq.has_body) {
        /* The body is never read; refusing it keeps the framing unambiguous. */
        respond_plain_problem(fd, 400, "a GET request must not have a body", NULL);
    } else if (health) {
        answer_health(fd);
    } else {
        answer_data(fd, &rq);
    }
}

static void *worker(void *arg)
{
    int fd = (int)(intptr_t)arg;
    handle(fd);
    /* Half-close first so the client gets our answer, not a reset, if it sent more. */
    shutdown(fd, SHUT_WR);
    close(fd);
    atomic_fetch_sub(&g_active, 1);
    return NULL;
}

/* ---- configuration --------------------------------------------------------------- */

struct strbuf {
    char *data;
    size_t len, cap;
    int failed;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *bigger = realloc(b->data, cap);
        if (!bigger) {
            b->failed = 1;
            return;
        }
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_json_string(struct strbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_add(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_add(b, esc, 6);
        } else {
            sb_add(b, s, 1);
        }
    }
    sb_add(b, "\"", 1);
}

static void sb_json_array(struct strbuf *b, const char *name, char **items, int n)
{
    sb_add(b, ",\"", 2);
    sb_add(b, name, strlen(name));
    sb_add(b, "\":[", 3);
    for (int i = 0; i < n; i++) {
        if (i)
            sb_add(b, ",", 1);
        sb_json_string(b, items[i]);
    }
    sb_add(b, "]", 1);
}

/* ,"name":<number>, the number as given (checked by seconds_ok). */
static void sb_number(struct strbuf *b, const char *name, const char *number)
{
    sb_add(b, ",\"", 2);
    sb_add(b, name, strlen(name));
    sb_add(b, "\":", 2);
    sb_add(b, number, strlen(number));
}

/* NULL, or a plain non-negative decimal ("2", "0.5"): safe to paste into JSON. */
static int seconds_ok(const char *s)
{
    if (!s)
        return 1;
    int digits = 0, dots = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.' && digits && !dots)
            dots++;
        else
            return 0;
    }
    return digits > 0 && s[strlen(s) - 1] != '.';
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s (--policy FILE | --issuer ISS [--audience A]... [--scope S]...)\n"
            "          [--jwks FILE | [--fetch-timeout S] [--cooldown S] [--refresh S] [--ca-file PEM]]\n"
            "          [--bind ADDR] [--port N] [--realm R] [--problem-type URI]\n"
            "          [--timeout-ms N] [--max-connections N] [--quiet]\n"
            "  --port 0 picks a free port; the first line on stdout is \"listening on http://ADDR:PORT\".\n"
            "  Without --jwks the keys are fetched from the issuers (discovery); --fetch-timeout\n"
            "  bounds each fetch (5 s), --cooldown spaces unknown-kid refetches (10 s), --refresh\n"
            "  caps the cache lifetime (max_ttl), --ca-file adds a PEM CA bundle; SIGHUP refetches.\n"
            "  With --jwks, SIGHUP reloads the file (it is also reloaded when it changes).\n"
            "  (libxconnauth %s)\n",
            argv0, xca_version());
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int printable_no_quotes(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

static void on_hup(int sig)
{
    (void)sig;
    g_hup = 1;
}

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

int main(int argc, char **argv)
{
    const char *policy_path = NULL, *issuer = NULL;
    char **audiences = calloc((size_t)argc, sizeof *audiences);
    char **scopes = calloc((size_t)argc, sizeof *scopes);
    int n_aud = 0, n_scope = 0;
    if (!audiences || !scopes)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            g_cfg.quiet = 1;
            continue;
        }
        if (!v)
            goto bad_usage;
        i++;
        if (strcmp(a, "--jwks") == 0)
            g_cfg.jwks_path = v;
        else if (strcmp(a, "--ca-file") == 0)
            g_cfg.ca_file = v;
        else if (strcmp(a, "--fetch-timeout") == 0)
            g_cfg.fetch_timeout = v;
        else if (strcmp(a, "--cooldown") == 0)
            g_cfg.cooldown = v;
        else if (strcmp(a, "--refresh") == 0)
            g_cfg.refresh = v;
        else if (strcmp(a, "--policy") == 0)
            policy_path = v;
        else if (strcmp(a, "--issuer") == 0)
            issuer = v;
        else if (strcmp(a, "--audience") == 0)
            audiences[n_aud++] = argv[i];
        else if (strcmp(a, "--scope") == 0)
            scopes[n_scope++] = argv[i];
        else if (strcmp(a, "--bind") == 0)
            g_cfg.bind_addr = v;
        else if (strcmp(a, "--realm") == 0)
            g_cfg.realm = v;
        else if (strcmp(a, "--problem-type") == 0)
            g_cfg.problem_type = v;
        else if (strcmp(a, "--port") == 0 ? parse_int(v, 0, 65535, &g_cfg.port) != 0
                 : strcmp(a, "--timeout-ms") == 0 ? parse_int(v, 50, 600000, &g_cfg.timeout_ms) != 0
                 : strcmp(a, "--max-connections") == 0 ? parse_int(v, 1, 10000, &g_cfg.max_connections) != 0
                 : 1)
            goto bad_usage;
    }
    if ((!policy_path == !issuer) || (policy_path && (n_aud || n_scope)))
        goto bad_usage;
    if (g_cfg.jwks_path && (g_cfg.ca_file || g_cfg.fetch_timeout || g_cfg.cooldown || g_cfg.refresh)) {
        fprintf(stderr, "--ca-file, --fetch-timeout, --cooldown and --refresh are for fetched keys, not --jwks\n");
        goto bad_usage;
    }
    if (!seconds_ok(g_cfg.fetch_timeout) || !seconds_ok(g_cfg.cooldown) || !seconds_ok(g_cfg.refresh)) {
        fprintf(stderr, "--fetch-timeout, --cooldown and --refresh want seconds, e.g. 2.5\n");
        goto bad_usage;
    }
    if (!printable_no_quotes(g_cfg.realm) || !printable_no_quotes(g_cfg.problem_type)) {
        fprintf(stderr, "--realm and --problem-type must be printable ASCII without quotes\n");
        goto bad_usage;
    }

    char *policy;
    size_t policy_len;
    struct stat st;
    if (policy_path) {
        policy = read_file(policy_path, POLICY_MAX, &policy_len, &st);
    } else {
        struct strbuf b = {0};
        sb_add(&b, "{\"issuers\":[", 12);
        sb_json_string(&b, issuer);
        sb_add(&b, "]", 1);
        if (n_aud)
            sb_json_array(&b, "audiences", audiences, n_aud);
        if (n_scope)
            sb_json_array(&b, "required_scopes", scopes, n_scope);
        sb_add(&b, "}", 1);
        policy = b.failed ? NULL : b.data;
        policy_len = b.len;
        if (b.failed)
            free(b.data);
    }
    free(audiences);
    free(scopes);
    if (!policy)
        return 2;
    xca_status s;
    if (g_cfg.jwks_path) {
        size_t jwks_len;
        char *jwks = read_file(g_cfg.jwks_path, JWKS_MAX, &jwks_len, &st);
        if (!jwks) {
            free(policy);
            return 2;
        }
        remember_file(&g_jwks_id, &st);
        s = xca_verifier_new((const uint8_t *)jwks, jwks_len, (const uint8_t *)policy, policy_len, &g_verifier);
        free(jwks);
    } else {
        /* The engine options (libxconnauth parses and checks them). */
        struct strbuf b = {0};
        sb_add(&b, "{\"non_blocking\":false", 21);
        if (g_cfg.fetch_timeout)
            sb_number(&b, "timeout", g_cfg.fetch_timeout);
        if (g_cfg.cooldown)
            sb_number(&b, "refresh_cooldown", g_cfg.cooldown);
        if (g_cfg.refresh) {
            sb_number(&b, "max_ttl", g_cfg.refresh);
            /* min_ttl may not exceed max_ttl; its default is 60 s */
            if (strtod(g_cfg.refresh, NULL) < 60)
                sb_number(&b, "min_ttl", g_cfg.refresh);
        }
        if (g_cfg.ca_file) {
            sb_add(&b, ",\"ca_file\":", 11);
            sb_json_string(&b, g_cfg.ca_file);
        }
        sb_add(&b, "}", 1);
        if (b.failed) {
            free(b.data);
            free(policy);
            return 2;
        }
        s = xca_verifier_new_remote((const uint8_t *)policy, policy_len, (const uint8_t *)b.data, b.len,
                                    &g_verifier);
        free(b.data);
        if (s == XCA_OK)
            /* Fetch now so the first request does not wait; failing is fine (503 until the
             * issuer answers, then the engine recovers by itself). */
            if (xca_verifier_refresh(g_verifier) != XCA_OK) {
                char msg[512];
                log_line("first fetch failed (%s); answering 503 until keys arrive", last_error(msg, sizeof msg));
            }
    }
    free(policy);
    if (s != XCA_OK) {
        char msg[512];
        fprintf(stderr, "remote-service: configuration error: %s\n", last_error(msg, sizeof msg));
        return 2;
    }

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_cfg.port)};
    if (inet_pton(AF_INET, g_cfg.bind_addr, &addr.sin_addr) != 1) {
        fprintf(stderr, "remote-service: --bind wants an IPv4 address, got %s\n", g_cfg.bind_addr);
        return 2;
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0) {
        fprintf(stderr, "remote-service: cannot listen on %s:%d: %s\n", g_cfg.bind_addr, g_cfg.port, strerror(errno));
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    printf("listening on http://%s:%u\n", g_cfg.bind_addr, (unsigned)ntohs(addr.sin_port));
    fflush(stdout);

    /* No SA_RESTART: a signal interrupts poll() so the loop sees it at once. */
    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    long long next_check = now_ms() + 1000;
    struct timeval io_timeout = {.tv_sec = g_cfg.timeout_ms / 1000, .tv_usec = (g_cfg.timeout_ms % 1000) * 1000};

    while (!g_stop) {
        if (g_hup && !g_cfg.jwks_path) {
            g_hup = 0;
            char msg[512];
            if (xca_verifier_refresh(g_verifier) == XCA_OK)
                log_line("refresh: new keys fetched");
            else
                log_line("refresh failed (%s); keeping the last good keys", last_error(msg, sizeof msg));
        }
        if (g_hup) {
            g_hup = 0;
            reload_jwks(1);
        }
        if (g_cfg.jwks_path && now_ms() >= next_check) {
            reload_jwks(0);
            next_check = now_ms() + 1000;
        }
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            continue; /* EINTR, a client that already left, or fd exhaustion: try again */
        if (atomic_load(&g_active) >= g_cfg.max_connections) {
            /* Full: refusing is cheaper and fairer than queueing behind slow clients. */
            setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &io_timeout, sizeof io_timeout);
            respond_plain_problem(cfd, 503, "too many connections", "Retry-After: 1\r\n");
            close(cfd);
            continue;
        }
        /* Sends block for at most the timeout; reads use poll() with the head deadline. */
        setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &io_timeout, sizeof io_timeout);
        setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &io_timeout, sizeof io_timeout);
        atomic_fetch_add(&g_active, 1);
        pthread_t t;
        if (pthread_create(&t, &attr, worker, (void *)(intptr_t)cfd) != 0) {
            atomic_fetch_sub(&g_active, 1);
            close(cfd);
        }
    }
    close(lfd);
    /* Workers finish within the I/O timeout; the verifier may only go after the last one. */
    long long give_up = now_ms() + 2LL * g_cfg.timeout_ms;
    while (atomic_load(&g_active) > 0 && now_ms() < give_up) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&g_active) == 0)
        xca_verifier_free(g_verifier);
    pthread_attr_destroy(&attr);
    log_line("stopped");
    return 0;

bad_usage:
    free(audiences);
    free(scopes);
    return usage(argv[0]);
}
