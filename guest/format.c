/* A small vsnprintf: enough for test output, no floating point (it also runs in ring 0). */
#include <stdarg.h>
#include <stdint.h>
#include "klib.h"

struct out {
    char *buf;
    size_t size, len;           /* len counts every character, even those that did not fit */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_number(struct out *o, uint64_t v, unsigned base, int negative, int width, char pad,
                       const char *prefix)
{
    char digits[24];
    int n = 0;

    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    width -= n + negative + (int)strlen(prefix);
    if (pad == ' ')
        for (; width > 0; width--)
            put(o, ' ');
    if (negative)
        put(o, '-');
    while (*prefix)
        put(o, *prefix++);
    for (; width > 0; width--)
        put(o, '0');
    while (n)
        put(o, digits[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        int alt = 0, width = 0, longs = 0;
        char pad = ' ';
        if (*++fmt == '#')
            alt = 1, fmt++;
        if (*fmt == '0')
            pad = '0', fmt++;
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            width = width * 10 + (*fmt - '0');
        for (; *fmt == 'l' || *fmt == 'z'; fmt++)
            longs++;

        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_number(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad, "");
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
            put_number(&o, v, *fmt == 'u' ? 10 : 16, 0, width, pad, alt && *fmt == 'x' ? "0x" : "");
            break;
        }
        case 'p':
            put_number(&o, (uintptr_t)va_arg(ap, void *), 16, 0, width, pad, "0x");
            break;
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            for (s = s ? s : "(null)"; *s; s++)
                put(&o, *s);
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default:                /* unknown conversion (or end of string): show it, stop */
            put(&o, '%');
            if (!*fmt)
                goto done;
            put(&o, *fmt);
        }
    }
done:
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
