#include "xerrno.h"

const char *errno_name(long err)
{
    static const struct {
        long value;
        const char *name;
    } names[] = {
#define XEN_ERRNO(name, value) { value, #name },
#include <xen/errno.h>
        { EDQUOT, "EDQUOT" },
    };

    if (err < 0)
        err = -err;
    for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].value == err)
            return names[i].name;
    return "E?";
}

const char *errno_name_or_ok(long rc)
{
    return rc == 0 ? "ok" : rc == 1 ? "not tried" : errno_name(rc);
}
