#include "cmdline.h"
#include "klib.h"

bool cmdline_get(const char *cmdline, const char *key, char *val, size_t size)
{
    size_t klen = strlen(key);

    for (const char *w = cmdline; *w;) {
        while (*w == ' ')
            w++;
        if (!strncmp(w, key, klen) && w[klen] == '=') {
            const char *v = w + klen + 1;
            size_t n = 0;
            while (v[n] && v[n] != ' ')
                n++;
            if (size) {
                n = n < size - 1 ? n : size - 1;
                memcpy(val, v, n);
                val[n] = '\0';
            }
            return true;
        }
        while (*w && *w != ' ')
            w++;
    }
    return false;
}

uint64_t cmdline_u64(const char *cmdline, const char *key, uint64_t dflt)
{
    char s[24];
    const char *p = s;
    unsigned base = 10;
    uint64_t v = 0;

    if (!cmdline_get(cmdline, key, s, sizeof(s)) || !*s)
        return dflt;
    if (s[0] == '0' && s[1] == 'x')
        base = 16, p += 2;
    for (; *p; p++) {
        unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0')
                     : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10) : 99;
        if (d >= base)
            return dflt;
        v = v * base + d;
    }
    return v;
}
