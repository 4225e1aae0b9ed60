/* USDT probes (provider "molt"): static tracepoints for bpftrace, perf
 * and SystemTap. See docs/observability.md for the list and a bpftrace
 * one-liner for each. */
#ifndef MOLT_RUNTIME_PROBES_H
#define MOLT_RUNTIME_PROBES_H

/*
 * With <sys/sdt.h> (Debian systemtap-sdt-dev; CMake defines
 * MOLT_HAVE_SDT when it finds it) each probe is one nop in the code and a
 * note in .note.stapsdt naming where its arguments live: nothing runs
 * unless a tracer attaches, which turns the nop into a breakpoint. There
 * are no semaphores, so arguments must be values the code has at hand
 * anyway (no formatting, no calls). Without the header the probes are
 * compiled out.
 */

#ifdef MOLT_HAVE_SDT
#include <sys/sdt.h>
#define MOLT_PROBE1(n, a)	   DTRACE_PROBE1(molt, n, a)
#define MOLT_PROBE2(n, a, b)	   DTRACE_PROBE2(molt, n, a, b)
#define MOLT_PROBE3(n, a, b, c)	   DTRACE_PROBE3(molt, n, a, b, c)
#define MOLT_PROBE4(n, a, b, c, d) DTRACE_PROBE4(molt, n, a, b, c, d)
#else
#define MOLT_PROBE1(n, a)	   ((void)0)
#define MOLT_PROBE2(n, a, b)	   ((void)0)
#define MOLT_PROBE3(n, a, b, c)	   ((void)0)
#define MOLT_PROBE4(n, a, b, c, d) ((void)0)
#endif

#endif
