/* RT-safety proof for ghostrec.tap's process(): no daemon, the plugin is dlopen()ed and driven
 * through spa_handle_factory like PipeWire does, with real support objects (loops, system, log)
 * from the system's libspa-support.so and a real ZeroMQ mark request serviced on the main loop.
 *
 * A separate "data thread" calls process() with traps armed:
 *   - seccomp filter on that thread: EVERY system call traps (SIGSYS) except rt_sigreturn and
 *     exit, so any syscall process() makes (write, read, futex, eventfd writes, clock_nanosleep,
 *     mmap, ioctl, sendto, poll, ...) is caught, whichever libc wrapper or inline asm made it.
 *     clock_gettime(CLOCK_MONOTONIC) through the vDSO is not a syscall and is not caught; a
 *     clock that fell back to a real syscall would be.
 *   - interposed malloc/calloc/realloc/free/posix_memalign/aligned_alloc/memalign and
 *     pthread_mutex_lock/trylock, pthread_rwlock_*lock, pthread_cond_wait, sem_wait: these
 *     record a violation when called from the armed thread, even when they would not enter
 *     the kernel (uncontended locks, allocations from the heap cache).
 * The harness first proves the traps work (a deliberate malloc and getppid on the armed
 * thread must be caught), then runs process() for many cycles while the main thread requests
 * a marker over ZeroMQ and waits for the reply. It also checks the output is the input (with the
 * marker where the ring's marker table says) so the cycles did real work.
 *
 * usage: rt-trap-test PLUGIN.so SPA_SUPPORT_LIB.so
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <spa/buffer/buffer.h>
#include <spa/node/io.h>
#include <spa/node/node.h>
#include <spa/param/audio/format-utils.h>
#include <spa/pod/builder.h>
#include <spa/support/log.h>
#include <spa/support/loop.h>
#include <spa/support/plugin.h>
#include <spa/support/system.h>
#include <spa/utils/names.h>
#include <zmq.h>

#include "common/control.h"
#include "common/marker.h"
#include "common/ring.h"
#include "spa-env.h"
#include "tap-harness.h"

#define CHANNELS 2
#define QUANTUM 128
#define MAX_VIOLATIONS 64

/* ---- traps ---- */

static __thread int armed;
static _Atomic int n_violations;
static _Atomic int violation_syscall[MAX_VIOLATIONS];
static const char *_Atomic violation_func[MAX_VIOLATIONS];

static void record(const char *func, int nr)
{
	int i = atomic_fetch_add(&n_violations, 1);
	if (i < MAX_VIOLATIONS) {
		violation_func[i] = func;
		violation_syscall[i] = nr;
	}
}

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	ucontext_t *uc = uctx;
	record("syscall", si->si_syscall);
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM; /* the trapped syscall fails */
}

static int arm_seccomp(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigreturn, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = { sizeof(filter) / sizeof(filter[0]), filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* No SECCOMP_FILTER_FLAG_TSYNC: only this thread is filtered. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

/* Allocator and lock interposers (this executable's definitions win over libc's for every
 * library loaded after it, including the dlopen()ed plugin). */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t size)
{
	if (armed)
		record("malloc", -1);
	return __libc_malloc(size);
}
void *calloc(size_t n, size_t size)
{
	if (armed)
		record("calloc", -1);
	return __libc_calloc(n, size);
}
void *realloc(void *p, size_t size)
{
	if (armed)
		record("realloc", -1);
	return __libc_realloc(p, size);
}
void free(void *p)
{
	if (armed && p)
		record("free", -1);
	__libc_free(p);
}
int posix_memalign(void **p, size_t align, size_t size)
{
	if (armed)
		record("posix_memalign", -1);
	*p = __libc_memalign(align, size);
	return *p ? 0 : ENOMEM;
}
void *aligned_alloc(size_t align, size_t size)
{
	if (armed)
		record("aligned_alloc", -1);
	return __libc_memalign(align, size);
}
void *memalign(size_t align, size_t size)
{
	if (armed)
		record("memalign", -1);
	return __libc_memalign(align, size);
}

#define FORWARD(ret, name, params, args) \
	static ret (*real_##name) params; \
	ret name params \
	{ \
		if (armed) \
			record(#name, -1); \
		return real_##name args; \
	}
FORWARD(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
FORWARD(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
FORWARD(int, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l))
FORWARD(int, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l))
FORWARD(int, pthread_cond_wait, (pthread_cond_t *c, pthread_mutex_t *m), (c, m))
FORWARD(int, sem_wait, (sem_t *s), (s))

static void resolve_real(void)
{
	real_pthread_mutex_lock = dlsym(RTLD_NEXT, "pthread_mutex_lock");
	real_pthread_mutex_trylock = dlsym(RTLD_NEXT, "pthread_mutex_trylock");
	real_pthread_rwlock_rdlock = dlsym(RTLD_NEXT, "pthread_rwlock_rdlock");
	real_pthread_rwlock_wrlock = dlsym(RTLD_NEXT, "pthread_rwlock_wrlock");
	real_pthread_cond_wait = dlsym(RTLD_NEXT, "pthread_cond_wait");
	real_sem_wait = dlsym(RTLD_NEXT, "sem_wait");
}

/* ---- the harness ---- */

#define FAIL(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

struct harness {
	struct tap_harness tap;
	/* what the data thread saw, for the checks */
	float *captured[CHANNELS];
	float *played[CHANNELS];
	size_t cap, n_captured;
	_Atomic bool stop;
	_Atomic bool selftest_done;
	int selftest_malloc, selftest_syscall;
	int seccomp_res;
};

/* One graph cycle; keeps a copy of what went in and came out. */
static void run_cycle(struct harness *hs)
{
	/* One clock discontinuity on purpose (xrun path). */
	struct tap_cycle cy = { .duration = QUANTUM, .position_jump = hs->tap.cycles == 500 ? 2 * QUANTUM : 0 };
	uint64_t frame = hs->tap.frame;
	tap_harness_cycle(&hs->tap, &cy);
	if (hs->n_captured + QUANTUM > hs->cap)
		return;
	for (uint32_t c = 0; c < CHANNELS; c++) {
		uint32_t n = 0;
		const float *out = tap_harness_output(&hs->tap, c, &n);
		if (out == NULL || n != QUANTUM)
			continue;
		memcpy(hs->captured[c] + hs->n_captured, out, QUANTUM * sizeof(float));
		for (uint32_t i = 0; i < QUANTUM; i++)
			hs->played[c][hs->n_captured + i] = tap_harness_signal(frame + i, c);
	}
	hs->n_captured += QUANTUM;
}

static void *data_thread(void *data)
{
	struct harness *hs = data;
	hs->seccomp_res = arm_seccomp();
	if (hs->seccomp_res < 0) {
		atomic_store(&hs->selftest_done, true);
		return NULL;
	}
	armed = 1;
	/* Self test: the traps must catch these. */
	void *volatile p = malloc(16); /* volatile: the compiler may not elide the pair */
	hs->selftest_malloc = atomic_load(&n_violations) > 0;
	int before = atomic_load(&n_violations);
	syscall(SYS_getppid);
	hs->selftest_syscall = atomic_load(&n_violations) > before &&
			       violation_syscall[before] == SYS_getppid;
	free(p);
	atomic_store(&n_violations, 0);
	atomic_store(&hs->selftest_done, true);

	/* The real run: cycles until the main thread has its marker reply (plus a tail), then
	 * at least 4000 cycles. Pacing with a spin loop: sleeping would be a syscall. */
	while (!atomic_load(&hs->stop) || hs->tap.cycles < 4000) {
		run_cycle(hs);
		for (volatile int spin = 0; spin < 20000; spin++)
			;
	}
	armed = 0;
	/* Still filtered: leave with the one allowed syscall (the kernel wakes pthread_join). */
	syscall(SYS_exit, 0);
	return NULL;
}

static int request(const char *ep, const char *req, char *reply, size_t size, struct spa_loop_control *ctrl,
		   struct harness *hs)
{
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_REQ);
	int linger = 0, n = -1;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(s, ep);
	zmq_send(s, req, strlen(req), 0);
	/* Service the node's main loop while waiting, as PipeWire's main thread would. */
	for (int i = 0; i < 2000 && n < 0; i++) {
		spa_loop_control_iterate(ctrl, 1);
		n = zmq_recv(s, reply, size - 1, ZMQ_DONTWAIT);
	}
	if (n >= 0)
		reply[n] = '\0';
	zmq_close(s);
	zmq_ctx_term(ctx);
	return n;
}

int main(int argc, char **argv)
{
	resolve_real();
	/* Support objects from the system's libspa-support.so. */
	struct spa_env env;
	char rundir[] = "/tmp/rt-trap-XXXXXX";
	const char *plugin = spa_env_test_begin(&env, argc, argv, rundir);
	struct spa_loop_control *main_ctrl = env.main_ctrl;

	char node_name[64];
	snprintf(node_name, sizeof(node_name), "rttrap-%d", (int)getpid());
	struct spa_dict_item items[] = {
		{ "node.name", node_name },
		{ "audio.position", "[ FL FR ]" },
		{ "ghostrec.ring.seconds", "20" }, /* holds every cycle of the run */
		{ "clock.quantum-limit", "8192" },
	};
	struct spa_dict info = SPA_DICT_INIT_ARRAY(items);
	struct harness hs = { 0 };
	tap_harness_init(&hs.tap, &env, plugin, &info, CHANNELS);
	hs.cap = 8000 * QUANTUM;
	for (uint32_t c = 0; c < CHANNELS; c++) {
		hs.captured[c] = calloc(hs.cap, sizeof(float));
		hs.played[c] = calloc(hs.cap, sizeof(float));
	}

	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);

	pthread_t thread;
	pthread_create(&thread, NULL, data_thread, &hs);
	while (!atomic_load(&hs.selftest_done))
		spa_loop_control_iterate(main_ctrl, 1);
	if (hs.seccomp_res < 0)
		FAIL("cannot install the seccomp filter: %s", strerror(-hs.seccomp_res));
	if (!hs.selftest_malloc || !hs.selftest_syscall)
		FAIL("trap self test: malloc caught %d, getppid caught %d", hs.selftest_malloc,
		     hs.selftest_syscall);
	printf("traps armed on the data thread (self test: malloc and getppid were caught)\n");

	/* A mark request over ZeroMQ while the data thread runs. */
	char ep[300], reply[GHOSTREC_CTL_MAX_MSG];
	ghostrec_ctl_endpoint(ep, sizeof(ep), node_name, "ctl");
	int n = request(ep, "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":4242}", reply, sizeof(reply),
			main_ctrl, &hs);
	struct ghostrec_ctl_msg rep;
	const char *code;
	char err[200];
	int ok = n > 0 && ghostrec_ctl_parse(reply, (size_t)n, &rep, &code, err, sizeof(err)) == 0 &&
		 rep.ok && rep.kind == GHOSTREC_CTL_MARK && rep.take_id == 4242;
	printf("mark reply: %s\n", n > 0 ? reply : "(none)");
	n = request(ep, "{\"ghostrec\":1,\"req\":\"status\"}", reply, sizeof(reply), main_ctrl, &hs);
	printf("status reply: %s\n", n > 0 ? reply : "(none)");
	atomic_store(&hs.stop, true);
	pthread_join(thread, NULL);

	int failures = 0;
	int nv = atomic_load(&n_violations);
	printf("process() called %lu times with traps armed: %d violations\n", (unsigned long)hs.tap.cycles, nv);
	for (int i = 0; i < nv && i < MAX_VIOLATIONS; i++)
		printf("  violation: %s (syscall %d)\n", violation_func[i], violation_syscall[i]);
	failures += nv != 0;
	if (!ok) {
		printf("FAIL: no valid mark reply\n");
		failures++;
	}

	/* The cycles did real work: output == input except the marker, which sits where the ring's
	 * marker table says; and the ring holds the pristine input there. */
	struct ghostrec_ring_reader *r;
	if (ghostrec_ring_reader_open(&r, node_name) == 0) {
		struct ghostrec_ring_marker mk[GHOSTREC_RING_MAX_MARKERS];
		uint64_t total;
		size_t nm = ghostrec_ring_reader_markers(r, mk, GHOSTREC_RING_MAX_MARKERS, &total);
		struct ghostrec_ring_counter_values v;
		ghostrec_ring_reader_counters(r, &v);
		printf("ring: %zu marker entries, cycles=%lu xruns=%lu overruns=%lu max_process_ns=%lu\n", nm,
		       (unsigned long)v.cycles, (unsigned long)v.xruns, (unsigned long)v.overruns,
		       (unsigned long)v.max_process_ns);
		if (nm != CHANNELS || v.xruns != 1 || v.overruns != 0 || v.cycles != hs.tap.cycles) {
			printf("FAIL: unexpected ring table/counters\n");
			failures++;
		}
		for (size_t m = 0; m < nm; m++) {
			uint64_t at = mk[m].frame; /* ring frame == cycle * QUANTUM here */
			struct ghostrec_marker_match match;
			uint32_t c = mk[m].channel;
			if (at + GHOSTREC_MARKER_FRAMES > hs.n_captured ||
			    !ghostrec_marker_decode_at(hs.captured[c] + at, GHOSTREC_MARKER_FRAMES, 1,
						       ghostrec_marker_tolerance(32), &match) ||
			    match.marker.take_id != 4242 || match.marker.channel != c) {
				printf("FAIL: marker not in the output at ring frame %lu ch %u\n",
				       (unsigned long)at, c);
				failures++;
			}
			float pristine[GHOSTREC_MARKER_FRAMES];
			if (ghostrec_ring_read(r, 0, c, at, pristine, GHOSTREC_MARKER_FRAMES) != GHOSTREC_RING_OK ||
			    memcmp(pristine, hs.played[c] + at, sizeof(pristine)) != 0) {
				printf("FAIL: ring under the marker is not the input\n");
				failures++;
			}
			/* Blank the marker out of the capture for the passthrough check. */
			memcpy(hs.captured[c] + at, hs.played[c] + at, sizeof(pristine));
		}
		ghostrec_ring_reader_close(r);
	} else {
		printf("FAIL: cannot open the ring\n");
		failures++;
	}
	for (uint32_t c = 0; c < CHANNELS; c++)
		if (memcmp(hs.captured[c], hs.played[c], hs.n_captured * sizeof(float)) != 0) {
			printf("FAIL: output channel %u is not the input\n", c);
			failures++;
		}

	tap_harness_clear(&hs.tap);
	for (uint32_t c = 0; c < CHANNELS; c++) {
		free(hs.captured[c]);
		free(hs.played[c]);
	}
	return spa_env_test_end(&env, rundir, failures);
}
