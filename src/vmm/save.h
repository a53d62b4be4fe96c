/* Saving a domain into a stream (docs/migration.md): the `save` and `resume` control requests.
 *
 * `save [live] [debug]` comes with the stream's descriptor (and optionally one for progress lines)
 * and is answered when the stream is whole; the domain is then suspended, and the next request is
 * `destroy` (saved, or migrated and running elsewhere) or `resume` (it runs on here). */
#ifndef XENITH_SAVE_H
#define XENITH_SAVE_H

#include <stdbool.h>
#include "vmm/control.h"

struct domain;

enum control_outcome save_request(struct control_call *call);
enum control_outcome resume_request(struct control_call *call);
/* Main loop: the guest suspended itself.  True when a save asked for it (and goes on with it);
 * false for a suspend nobody asked for. */
bool save_on_suspend(struct domain *dom);
/* The domain is going away: a save under way stops (its thread is joined, its stream closed;
 * its connection is answered with an error). */
void save_abort(struct domain *dom);

#endif
