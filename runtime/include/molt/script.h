/* Low-level upgrade scripts as C values, and their JSON form's parser. */
#ifndef MOLT_SCRIPT_H
#define MOLT_SCRIPT_H

/*
 * A script is an array of instructions, one per OTP low-level
 * instruction (docs/upgrades.md). The evaluator
 * (molt_runtime_eval_script in runtime.h) takes this typed form and never
 * sees JSON; molt_script_parse builds it from the JSON form, and a caller
 * may as well fill the structs itself. A script built in C borrows
 * everything it points to: the evaluator keeps no pointer after it
 * returns. Fields an instruction does not use are ignored (leave them
 * zero).
 */

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"

typedef enum molt_ins_kind {
	MOLT_INS_LOAD_OBJECT_CODE,     /* app, vsn, mods: dlopen, check */
	MOLT_INS_POINT_OF_NO_RETURN,   /* exactly one */
	MOLT_INS_LOAD,		       /* module, pre_purge, post_purge */
	MOLT_INS_REMOVE,	       /* module, pre_purge, post_purge */
	MOLT_INS_PURGE,		       /* mods: at commit */
	MOLT_INS_SUSPEND,	       /* mods, each with timeout_ms */
	MOLT_INS_RESUME,	       /* mods: at commit */
	MOLT_INS_CODE_CHANGE,	       /* down, mods, each with extra */
	MOLT_INS_STOP,		       /* mods: supervisors terminate them */
	MOLT_INS_START,		       /* mods: supervisors start them again */
	MOLT_INS_APPLY,		       /* module, fn, args */
	MOLT_INS_SYNC_NODES,	       /* accepted, no effect (one node) */
	MOLT_INS_RESTART_NEW_EMULATOR, /* refused: not supported yet */
	MOLT_INS_RESTART_EMULATOR      /* refused: not supported yet */
} molt_ins_kind;

/* PrePurge and PostPurge of load and remove. */
typedef enum molt_purge_opt {
	MOLT_SOFT_PURGE,  /* soft_purge */
	MOLT_BRUTAL_PURGE /* brutal_purge */
} molt_purge_opt;

/* timeout_ms of a suspended module: 0 is the evaluation's default
 * (molt_eval_options.suspend_timeout), these two the special values. */
#define MOLT_INS_TIMEOUT_DEFAULT  0u
#define MOLT_INS_TIMEOUT_NOW	  (UINT32_MAX - 1) /* a deadline of 0 ms */
#define MOLT_INS_TIMEOUT_INFINITY UINT32_MAX	   /* no deadline */

/* One module of an instruction's module list. */
typedef struct molt_ins_mod {
	const char *name;    /* the module (1 to 63 bytes) */
	uint32_t timeout_ms; /* suspend: ms or MOLT_INS_TIMEOUT_* */
	const char *extra;   /* code_change: Extra as JSON text; NULL: "[]" */
} molt_ins_mod;

/* One instruction. */
typedef struct molt_ins {
	molt_ins_kind kind;	   /* which instruction */
	const char *module;	   /* load, remove, apply: the module */
	const char *app;	   /* load_object_code: the application */
	const char *vsn;	   /* load_object_code: its version */
	const molt_ins_mod *mods;  /* the other lists of modules */
	size_t n_mods;		   /* entries in mods */
	molt_purge_opt pre_purge;  /* load, remove */
	molt_purge_opt post_purge; /* load, remove */
	int down;		   /* code_change: 1 down, 0 up */
	const char *fn;		   /* apply: the exported function */
	const char *args;	   /* apply: Args as JSON text; NULL: "[]" */
} molt_ins;

/* A script: n instructions, in order. */
typedef struct molt_script {
	const molt_ins *ins; /* the instructions */
	size_t n;	     /* their number */
} molt_script;

/* Where the JSON form of a script is wrong. */
typedef struct molt_script_where {
	int index;     /* the instruction, or -1 (the text as a whole) */
	char name[24]; /* its name ("?" if it has none), or "" */
} molt_script_where;

/* The name of an instruction kind ("load_object_code"); "?" if unknown. */
MOLT_API const char *molt_ins_name(molt_ins_kind kind);

/*
 * Parse the JSON form of a script (docs/upgrades.md): an array, one
 * instruction per element. Checks every instruction's shape, nothing
 * about the runtime. Returns MOLT_OK and *out (owned: molt_script_free),
 * or MOLT_EPARSE ("script:LINE:COL: JSON syntax error", or not an array)
 * or MOLT_EINVAL with "instruction I (NAME): ..." and the same in *where
 * (may be NULL), or MOLT_ENOMEM. On error *out is NULL.
 */
MOLT_API int molt_script_parse(molt_script **out, const char *json,
			       molt_script_where *where, molt_err *err);

/* Free a script molt_script_parse returned. NULL is a no-op. */
MOLT_API void molt_script_free(molt_script *script);

#endif
