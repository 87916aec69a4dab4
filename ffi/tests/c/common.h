/*
 * Helpers shared by the C tests: a tiny check harness, file reading, base64url.
 * Only the public header is used; nothing here knows Rust.
 */
#ifndef XCA_TEST_COMMON_H
#define XCA_TEST_COMMON_H

#define _GNU_SOURCE /* memmem, strndup */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xconnauth.h"

static unsigned long g_passed, g_failed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            g_passed++;                                                         \
        } else {                                                                \
            g_failed++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* Checks a status against the expected one, naming both on failure. */
#define CHECK_STATUS(got, want, what)                                           \
    do {                                                                        \
        xca_status got_ = (got), want_ = (want);                                \
        CHECK(got_ == want_, "%s: got %s (%u), want %s (%u)", (what),           \
              xca_status_name(got_), (unsigned)got_, xca_status_name(want_),    \
              (unsigned)want_);                                                 \
    } while (0)

/* Prints the closing line CI looks for and returns the exit code. */
static inline int finish(const char *suite)
{
    printf("%s: %lu passed, %lu failed\n", suite, g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}

static inline void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* Whole file, NUL-terminated; trailing whitespace trimmed when `trim`. */
static inline char *read_file(const char *path, size_t *len_out, int trim)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        die("out of memory");
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            char *n = realloc(buf, cap);
            if (!n)
                die("out of memory");
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    while (trim && len > 0 &&
           (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

static inline char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        die("out of memory");
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Unpadded base64url of `len` bytes into a new string. */
static inline char *b64url(const void *data, size_t len)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *in = data;
    char *out = malloc(len / 3 * 4 + 5);
    if (!out)
        die("out of memory");
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = al[v >> 6 & 63];
        out[o++] = al[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = al[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

/* New string: the concatenation of the NULL-terminated list of parts. */
static inline char *concat(const char *first, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        n += strlen(s);
    va_end(ap);
    char *out = malloc(n + 1);
    if (!out)
        die("out of memory");
    out[0] = '\0';
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        strcat(out, s);
    va_end(ap);
    return out;
}

static inline const uint8_t *u8(const char *s)
{
    return (const uint8_t *)s;
}

#endif
