/* Reading a module's descriptor in a child process (molt-probe), so that
 * none of the module's code (its constructors, which dlopen runs) runs in
 * the caller: moltd's dry runs and molt build both read descriptors so. */
#ifndef MOLT_PROBE_H
#define MOLT_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"

#define MOLT_PROBE_MAX_EXPORTS 256 /* molt-probe prints at most this many */
#define MOLT_PROBE_FIELD       256 /* a string field, with its NUL */

/* Callbacks a descriptor has (molt_probe_desc.callbacks). */
enum molt_probe_callback {
	MOLT_PROBE_INIT = 1 << 0,
	MOLT_PROBE_HANDLE_CALL = 1 << 1,
	MOLT_PROBE_HANDLE_CAST = 1 << 2,
	MOLT_PROBE_HANDLE_INFO = 1 << 3,
	MOLT_PROBE_TERMINATE = 1 << 4,
	MOLT_PROBE_CODE_CHANGE = 1 << 5,
	MOLT_PROBE_FREE_STATE = 1 << 6,
	MOLT_PROBE_FORMAT_STATE = 1 << 7,
};

/* What molt-probe reported. Strings are "" when the module's field was
 * missing, longer than 255 bytes or not on one line. */
typedef struct molt_probe_desc {
	uint32_t abi;			   /* descriptor ABI version */
	uint32_t behaviour;		   /* enum molt_behaviour */
	uint32_t state_vsn;		   /* state layout version */
	unsigned callbacks;		   /* enum molt_probe_callback bits */
	char name[MOLT_PROBE_FIELD];	   /* module name */
	char vsn[MOLT_PROBE_FIELD];	   /* module version */
	char (*exports)[MOLT_PROBE_FIELD]; /* export names, owned */
	size_t nexports;		   /* number of them */
} molt_probe_desc;

/*
 * Run molt-probe on the shared object at path in a child process and read
 * its answer (within 10 s) into out (caller storage; free with
 * molt_probe_desc_release, also after a failure). Fails with the probe's
 * own message ("PATH: no molt_module_descriptor symbol ..."), or saying
 * that the module killed the probe, or that it did not answer. The
 * program is $MOLT_PROBE, else the installed one, else this build's.
 */
MOLT_API int molt_probe_read(molt_probe_desc *out, const char *path,
			     molt_err *err);

/* Free what molt_probe_read filled in; out is then empty. */
MOLT_API void molt_probe_desc_release(molt_probe_desc *out);

/* The molt-probe program molt_probe_read runs (borrowed, static). */
MOLT_API const char *molt_probe_program(void);

#endif
