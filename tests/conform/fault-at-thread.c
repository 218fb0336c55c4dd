/* LD_PRELOAD shim for test-sync-faults.sh: the first pthread_create() of the process (in
 * ghostrec-sync: the thread that renders OUT, started once both inputs are open and before
 * the engine reads their audio) first cuts every file named in GHOSTREC_TEST_TRUNCATE
 * (colon-separated) to 4096 bytes, as another program rewriting them would. Deterministic,
 * and the process runs on undisturbed by a debugger. With GHOSTREC_TEST_NO_THREAD set, that
 * first pthread_create() fails instead (EAGAIN, as at a thread limit): ghostrec-sync must then
 * render OUT after the engine, the same. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
	static int done;
	const char *files = getenv("GHOSTREC_TEST_TRUNCATE");
	if (!done && getenv("GHOSTREC_TEST_NO_THREAD")) {
		done = 1;
		return EAGAIN;
	}
	if (!done && files) {
		done = 1;
		char *list = strdup(files);
		for (char *save = NULL, *p = list ? strtok_r(list, ":", &save) : NULL; p; p = strtok_r(NULL, ":", &save))
			if (truncate(p, 4096) != 0)
				_exit(99);   /* the test would prove nothing */
		free(list);
	}
	create_fn real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
	return real ? real(thread, attr, start, arg) : -1;
}
