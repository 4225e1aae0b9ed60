/* The module author's API: the descriptor a module exports and the calls a
 * callback may make on its process. */
#ifndef MOLT_MODULE_H
#define MOLT_MODULE_H

/*
 * A molt module is a shared object that exports exactly one symbol,
 * `molt_module_descriptor` (use MOLT_DEFINE_MODULE), describing its name,
 * version, behaviour and callbacks. The runtime dlopen()s it, checks the
 * ABI version and the name, and runs processes on it.
 *
 * Invariants every module may rely on:
 * - A process runs one callback at a time, to completion; callbacks of one
 *   process never run concurrently. A callback must not block (no sleep, no
 *   blocking I/O, no waiting for another process).
 * - Between two callbacks a process holds nothing but its state pointer.
 * - Everything a callback gets by pointer (molt_msg, its data, the ctx) is
 *   borrowed: valid until the callback returns. Copy what you keep.
 * - Messages are copied (share-nothing): the sender keeps its buffer.
 * - State memory comes from molt_proc_alloc(); whatever a process still
 *   holds when it exits is reclaimed by the runtime.
 *
 * Functions below that take a molt_ctx are implemented by the runtime and
 * resolved when the module is loaded: a module links against nothing.
 */

#include <stddef.h>
#include <stdint.h>

#define MOLT_MODULE_ABI 1 /* bumped on any incompatible change below */

#if defined(__GNUC__)
#define MOLT_MODULE_EXPORT __attribute__((visibility("default")))
#else
#define MOLT_MODULE_EXPORT
#endif

typedef uint64_t molt_pid; /* a process; never reused; 0 is none */
typedef uint64_t molt_ref; /* a unique reference (call, monitor, timer) */
typedef struct molt_ctx molt_ctx; /* the process running this callback */

enum molt_behaviour {
	MOLT_BEHAVIOUR_SERVER = 1, /* gen_server-like: the callbacks below */
};

/* What a message is. */
enum molt_msg_kind {
	MOLT_MSG_CALL = 1,  /* handle_call: a request; reply with molt_reply */
	MOLT_MSG_CAST = 2,  /* handle_cast: a request without reply */
	MOLT_MSG_INFO = 3,  /* handle_info: a plain molt_send */
	MOLT_MSG_TIMER = 4, /* handle_info: a molt_send_after fired; ref */
	MOLT_MSG_EXIT = 5,  /* handle_info: a linked process exited while
			       this one traps exits; from, reason */
	MOLT_MSG_DOWN = 6,  /* handle_info: a monitored process exited;
			       ref (the monitor), from, reason */
	MOLT_MSG_REPLY = 7, /* handle_info: reply to molt_call_async; ref */
	MOLT_MSG_TIMEOUT = 8, /* handle_info: molt_call_async got no reply
				 in time; ref */
	MOLT_MSG_TCP = 9,     /* handle_info: a socket event: tcp, sock
				 (and listener, data, reason) */
};

/* A socket, as the runtime names it (0 is never one). */
typedef uint64_t molt_sock;

/* What a MOLT_MSG_TCP message says (msg->tcp). */
enum molt_tcp_event {
	MOLT_TCP_ACCEPTED = 1,	/* sock: a new connection on listener, owned
				   by this process, passive */
	MOLT_TCP_DATA = 2,	/* data, len: bytes sock received */
	MOLT_TCP_CLOSED = 3,	/* the peer closed sock; the socket is gone */
	MOLT_TCP_ERROR = 4,	/* reason: what failed; the socket is gone */
	MOLT_TCP_SENT = 5,	/* sock's send queue drained after a send was
				   refused with MOLT_EBUSY: send again */
	MOLT_TCP_CONNECTED = 6, /* the connection molt_tcp_connect started
				   is up */
};

/* A message as a callback sees it. Borrowed: valid during the callback. */
typedef struct molt_msg {
	int kind;	    /* enum molt_msg_kind */
	molt_pid from;	    /* sender, exited process, or 0 (outside caller) */
	molt_ref ref;	    /* call, monitor or timer reference, or 0 */
	const char *reason; /* exit reason for EXIT and DOWN, else NULL */
	const void *data;   /* payload bytes (may be NULL when len is 0) */
	size_t len;	    /* payload length */
	int tcp;	    /* MOLT_MSG_TCP: enum molt_tcp_event, else 0 */
	molt_sock sock;	    /* MOLT_MSG_TCP: the socket, else 0 */
	molt_sock listener; /* MOLT_TCP_ACCEPTED: the listening socket */
} molt_msg;

/* Whom to answer: given to handle_call, may be kept to reply later. */
typedef struct molt_from {
	molt_pid pid; /* the caller, or 0 for a caller outside the VM */
	molt_ref ref; /* correlates the reply with the request */
} molt_from;

/* The version a code_change comes from (up) or goes to (down). */
typedef struct molt_vsn_change {
	int down;	 /* 0: upgrade from vsn; 1: downgrade, {down, vsn} */
	const char *vsn; /* the other version, e.g. "1.0.0" */
} molt_vsn_change;

/*
 * A function a module exports by name, for the `apply` upgrade instruction
 * ({apply, {Mod, Fun, Args}}). args_json is the instruction's Args as JSON
 * text. Runs outside any process (molt_self() is 0) but may send. Returns
 * 0 on success, a negative value to fail the instruction.
 */
typedef struct molt_export {
	const char *name;				 /* Fun */
	int (*fn)(molt_ctx *ctx, const char *args_json); /* the function */
} molt_export;

/*
 * Callback return values: MOLT_CB_OK (0) continues; a negative value
 * crashes the process (exit reason "error"; molt_crash gives a better
 * one). To stop normally, call molt_stop() and return MOLT_CB_OK.
 */
#define MOLT_CB_OK 0

/* The descriptor. Fields may be NULL unless marked required. */
typedef struct molt_module {
	uint32_t abi;	    /* required: MOLT_MODULE_ABI */
	uint32_t behaviour; /* required: enum molt_behaviour */
	const char *name;   /* required: [a-z][a-z0-9_]*, matches the file */
	const char *vsn;    /* required: version string, e.g. "1.1.0" */
	uint32_t
		state_vsn; /* layout version of the state (appup gen uses it) */

	/* Build the first state from spawn args (copied bytes). */
	int (*init)(molt_ctx *ctx, const void *args, size_t len,
		    void **state_out);
	/* A request: reply now with molt_reply(ctx, from, ...) or later. */
	int (*handle_call)(molt_ctx *ctx, const molt_msg *req, molt_from from,
			   void **state);
	int (*handle_cast)(molt_ctx *ctx, const molt_msg *msg, void **state);
	int (*handle_info)(molt_ctx *ctx, const molt_msg *msg, void **state);
	/* The process is exiting with reason; state is still valid. Not
	 * called for "killed" (an untrappable kill, a purge). */
	void (*terminate)(molt_ctx *ctx, const char *reason, void *state);
	/*
	 * Build a new state from old_state for this (new) version; extra is
	 * the appup's Extra term as JSON text ("[]" when none). Must not
	 * change old_state: on failure (return < 0, *new_state_out untouched
	 * or freed) the process keeps old_state and old code.
	 */
	int (*code_change)(molt_ctx *ctx, const molt_vsn_change *chg,
			   const void *old_state, const char *extra_json,
			   void **new_state_out);
	/* Free a state this version built (after a code_change commits or
	 * rolls back). Required when code_change is set. */
	void (*free_state)(molt_ctx *ctx, void *state);
	/* Describe state for `get_state`, snprintf-style: returns the length
	 * it needed. Optional. */
	size_t (*format_state)(const void *state, char *buf, size_t size);

	const molt_export *exports; /* { {name, fn}, ..., {NULL, NULL} } */
} molt_module;

/* Define the descriptor: MOLT_DEFINE_MODULE(.name = "counter", ...); */
#define MOLT_DEFINE_MODULE(...)                                                \
	MOLT_MODULE_EXPORT const molt_module molt_module_descriptor = {        \
		.abi = MOLT_MODULE_ABI, __VA_ARGS__}

#define MOLT_MODULE_SYMBOL "molt_module_descriptor"

/* --- calls a callback makes on its process (any callback, any time) --- */

/* The running process's pid (0 outside a process, e.g. in an export). */
MOLT_MODULE_EXPORT molt_pid molt_self(molt_ctx *ctx);

/*
 * Process heap: memory charged to the running process and reclaimed when
 * it exits. molt_proc_alloc returns NULL when out of memory.
 */
MOLT_MODULE_EXPORT void *molt_proc_alloc(molt_ctx *ctx, size_t size);
MOLT_MODULE_EXPORT void *molt_proc_realloc(molt_ctx *ctx, void *p, size_t size);
MOLT_MODULE_EXPORT void molt_proc_free(molt_ctx *ctx, void *p);

/* Send a copy of data to pid's mailbox as MOLT_MSG_INFO. Sending to a
 * dead pid is not an error (as in Erlang). Returns 0 or negative. */
MOLT_MODULE_EXPORT int molt_send(molt_ctx *ctx, molt_pid to, const void *data,
				 size_t len);
/* As molt_send, delivered to handle_cast. */
MOLT_MODULE_EXPORT int molt_cast(molt_ctx *ctx, molt_pid to, const void *data,
				 size_t len);
/*
 * Asynchronous call: the reply arrives later in handle_info as
 * MOLT_MSG_REPLY with *out as ref, or MOLT_MSG_TIMEOUT after timeout_ms
 * (never both; timeout_ms 0 waits forever).
 */
MOLT_MODULE_EXPORT int molt_call_async(molt_ctx *ctx, molt_ref *out,
				       molt_pid to, const void *req, size_t len,
				       uint32_t timeout_ms);
/* Answer a call, now or in a later callback. Copies data. */
MOLT_MODULE_EXPORT int molt_reply(molt_ctx *ctx, molt_from from,
				  const void *data, size_t len);

/* After ms, send data to self as MOLT_MSG_TIMER; the timer is *out. */
MOLT_MODULE_EXPORT int molt_send_after(molt_ctx *ctx, molt_ref *out,
				       uint32_t ms, const void *data,
				       size_t len);
/* Cancel a timer; returns 0, or MOLT_ENOTFOUND (-4) if it already fired. */
MOLT_MODULE_EXPORT int molt_cancel_timer(molt_ctx *ctx, molt_ref timer);

#define MOLT_SPAWN_LINK 0x1u /* link the new process to the caller */
/* Start a process running module's current version with args (copied). */
MOLT_MODULE_EXPORT int molt_spawn(molt_ctx *ctx, molt_pid *out,
				  const char *module, const void *args,
				  size_t len, unsigned flags);
MOLT_MODULE_EXPORT int molt_link(molt_ctx *ctx, molt_pid pid);
MOLT_MODULE_EXPORT int molt_unlink(molt_ctx *ctx, molt_pid pid);
MOLT_MODULE_EXPORT int molt_monitor(molt_ctx *ctx, molt_ref *out, molt_pid pid);
MOLT_MODULE_EXPORT int molt_demonitor(molt_ctx *ctx, molt_ref mon);
/* on = 1: exit signals from links arrive as MOLT_MSG_EXIT instead of
 * killing this process ("kill" still kills). */
MOLT_MODULE_EXPORT void molt_trap_exit(molt_ctx *ctx, int on);
/* Send an exit signal with reason to pid ("kill" cannot be trapped). */
MOLT_MODULE_EXPORT int molt_exit(molt_ctx *ctx, molt_pid pid,
				 const char *reason);

/* Register the running process under name; MOLT_EEXISTS if taken. */
MOLT_MODULE_EXPORT int molt_register(molt_ctx *ctx, const char *name);
/* The pid registered under name, or 0. */
MOLT_MODULE_EXPORT molt_pid molt_whereis(molt_ctx *ctx, const char *name);

/* Stop the process with reason ("normal", "shutdown", ...) once the
 * current callback returns; terminate runs first. reason is copied. */
MOLT_MODULE_EXPORT void molt_stop(molt_ctx *ctx, const char *reason);
/* Like molt_stop, for a crash: the reason is formatted and copied, and
 * links and supervisors see an abnormal exit. */
MOLT_MODULE_EXPORT void molt_crash(molt_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Log one line at level 0 error, 1 warn, 2 info, 3 debug, tagged with the
 * module and pid. */
MOLT_MODULE_EXPORT void molt_logf(molt_ctx *ctx, int level, const char *fmt,
				  ...) __attribute__((format(printf, 3, 4)));

/*
 * The value of key in the env of the running module's application (OTP's
 * application:get_env/2), as JSON text: {"max_keys": 100000} gives
 * "100000", a string value gives it quoted ("\"eu\""). The application is
 * the one whose app.json lists the module, in the release the node booted
 * (moltd --root without --boot). Returns owned: a NUL-terminated copy in
 * the process heap, free it with molt_proc_free (what the process still
 * holds at exit is reclaimed). NULL when the key is not set, the module
 * belongs to no application (a node booted from a boot spec), or out of
 * memory. Any callback may call it; the copy never changes afterwards.
 */
MOLT_MODULE_EXPORT char *molt_app_env(molt_ctx *ctx, const char *key);

/*
 * --- TCP sockets (docs/modules.md, "Sockets") ---
 *
 * A socket belongs to one process, its owner: only the owner may use it,
 * and the owner's exit closes it. Nothing blocks: the runtime's poller
 * turns readiness into MOLT_MSG_TCP messages for the owner, which arrive
 * in its mailbox like any message (so they wait while it is suspended for
 * an upgrade, and its sockets stay open through the upgrade or its
 * rollback). A socket is passive until molt_sock_active asks for events:
 * then the poller delivers up to n of them (accepted connections or data)
 * and the socket is passive again, so a slow process stops reading and
 * TCP's flow control pushes back on the peer. Socket memory (its send
 * queue) counts in the owner's heap bytes.
 */

/* Listen on addr ("127.0.0.1", "::1", "0.0.0.0", "::", or "localhost")
 * and port (0: any free port; molt_sock_port says which), with backlog
 * pending connections (0: 128). */
MOLT_MODULE_EXPORT int molt_tcp_listen(molt_ctx *ctx, molt_sock *out,
				       const char *addr, unsigned port,
				       int backlog);
/*
 * Connect to addr (as molt_tcp_listen takes it) and port. *out names the
 * socket at once, owned by the caller and passive; MOLT_TCP_CONNECTED
 * follows when the connection is up, or MOLT_TCP_ERROR (reason: why, e.g.
 * "Connection refused") and the socket is gone. Bytes sent before are
 * queued and go once it is up. MOLT_ECLOSED if the kernel refuses at once.
 */
MOLT_MODULE_EXPORT int molt_tcp_connect(molt_ctx *ctx, molt_sock *out,
					const char *addr, unsigned port);
/* The socket's local port, or a negative error. */
MOLT_MODULE_EXPORT int molt_sock_port(molt_ctx *ctx, molt_sock s);
/* Deliver up to n more events (accepts or data) for s; 0: none. */
MOLT_MODULE_EXPORT int molt_sock_active(molt_ctx *ctx, molt_sock s, unsigned n);
/*
 * Send len bytes: what the kernel does not take now is queued in the
 * runtime, in order, and sent as the peer reads. MOLT_EBUSY when the
 * queue would pass its limit (MOLT_SO_SENDQ, 4 MiB by default): nothing
 * is queued, and MOLT_TCP_SENT follows once the queue has drained.
 * MOLT_ECLOSED if the connection is broken.
 */
MOLT_MODULE_EXPORT int molt_sock_send(molt_ctx *ctx, molt_sock s,
				      const void *data, size_t len);
/* Close s. Bytes still queued go to the kernel's send buffer first (grown
 * for them, within the kernel's limit net.core.wmem_max), and the kernel
 * delivers them after the close; what does not fit is dropped. */
MOLT_MODULE_EXPORT int molt_sock_close(molt_ctx *ctx, molt_sock s);
/* Give s to process to (it then owns it; events go to it). */
MOLT_MODULE_EXPORT int molt_sock_give(molt_ctx *ctx, molt_sock s, molt_pid to);

/* Options for molt_sock_setopt. */
enum molt_sock_opt {
	MOLT_SO_NODELAY = 1,	   /* TCP_NODELAY: 1 or 0 */
	MOLT_SO_KEEPALIVE = 2,	   /* SO_KEEPALIVE: 1 or 0 */
	MOLT_SO_RCVBUF = 3,	   /* SO_RCVBUF bytes */
	MOLT_SO_SNDBUF = 4,	   /* SO_SNDBUF bytes */
	MOLT_SO_SENDQ = 5,	   /* the runtime's send queue limit, bytes */
	MOLT_SO_EXIT_ON_CLOSE = 6, /* 1 (default): the peer's close closes
				      the socket; 0: MOLT_TCP_CLOSED only says
				      the peer sends no more (a half-close),
				      and the socket stays for sending until
				      molt_sock_close */
};
MOLT_MODULE_EXPORT int molt_sock_setopt(molt_ctx *ctx, molt_sock s, int opt,
					long value);
/* "ADDR:PORT" of the peer (local: 0) or the local end (1) into buf. */
MOLT_MODULE_EXPORT int molt_sock_name(molt_ctx *ctx, molt_sock s, int local,
				      char *buf, size_t size);

/*
 * The version of the release the node runs into buf ("1.1.0"; NUL-
 * terminated, cut to size), as `molt status` shows it: it changes when an
 * install commits. Returns 0, or MOLT_ENOTFOUND (buf "") on a node booted
 * from a boot spec, with no release.
 */
MOLT_MODULE_EXPORT int molt_release_vsn(molt_ctx *ctx, char *buf, size_t size);

/* Monotonic milliseconds, for modules that keep time in their state. */
MOLT_MODULE_EXPORT uint64_t molt_now_ms(void);

#endif
