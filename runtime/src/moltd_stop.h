/* moltd's shutdown deadline: one deadline for the whole stop, a second
 * signal ends it at once. */
#ifndef MOLT_MOLTD_STOP_H
#define MOLT_MOLTD_STOP_H

/*
 * The first SIGTERM/SIGINT (or the root supervisor giving up) starts an
 * orderly stop on the main thread: root supervisor, remaining processes,
 * threads. C code cannot be interrupted, so that stop may never end: a
 * callback that loops, a subtree with shutdown "infinity". The guard
 * thread waits for a second SIGTERM/SIGINT or the deadline; whichever
 * comes first logs what the node still waits for (processes, the
 * callbacks they are in and for how long) and _exit()s with
 * MOLTD_EXIT_STUCK, without joining threads stuck in user code.
 */

#include <stdint.h>

#include "molt/runtime.h"

#define MOLTD_EXIT_STUCK 3 /* the stop passed its deadline */

/* Start the guard: the stop must end within timeout_s seconds. The
 * signals it waits for (SIGTERM, SIGINT, SIGUSR2) must be blocked in
 * every thread. Borrows rt until molt__stop_guard_end. If the thread
 * cannot start, the stop runs unguarded (logged). */
void molt__stop_guard_start(molt_runtime *rt, unsigned timeout_s);
/* Milliseconds left until the deadline (0 once it passed). */
uint32_t molt__stop_guard_left_ms(void);
/* The stop finished in time: end the guard and join it. */
void molt__stop_guard_end(void);

#endif
