/* Test helper: load SPA plugins the way PipeWire does (dlopen + spa_handle_factory_enum) and
 * give them real support objects (system, log, a main loop and a data loop) from the system's
 * libspa-support.so. Used by the in-process plugin tests (no daemon). */
#ifndef GHOSTREC_TEST_SPA_ENV_H
#define GHOSTREC_TEST_SPA_ENV_H

#include <spa/support/log.h>
#include <spa/support/loop.h>
#include <spa/support/plugin.h>
#include <spa/support/system.h>

struct spa_env {
	struct spa_handle *system, *log, *main_loop, *data_loop;
	struct spa_loop_control *main_ctrl;
	struct spa_support support[6];
	uint32_t n_support;
};

/* Exits the test with a message when the library or factory is missing. */
const struct spa_handle_factory *spa_env_factory(const char *lib, const char *name);

/* Instantiates a factory; returns NULL and *res < 0 when its init fails. */
struct spa_handle *spa_env_instantiate(const struct spa_handle_factory *f, const struct spa_dict *info,
				       const struct spa_support *support, uint32_t n_support, int *res);
void spa_env_free_handle(struct spa_handle *h);

/* The interface of a handle, or exits the test. */
void *spa_env_iface(struct spa_handle *h, const char *type);

/* Creates the support objects from libspa-support.so (path) and enters the main loop. */
void spa_env_init(struct spa_env *env, const char *support_lib);
void spa_env_clear(struct spa_env *env);

/* The in-process plugin tests' common frame. spa_env_test_begin checks the arguments
 * (PLUGIN.so libspa-support.so, else exits 2), makes stdout line-buffered, makes a private
 * XDG_RUNTIME_DIR from rundir (a mkdtemp template, rewritten in place), creates the support
 * objects and returns the plugin's path. spa_env_test_end clears them, removes the runtime dir
 * (with the pw-ghost-rec dir the node made in it), prints PASSED or FAILED and returns the
 * exit status. */
const char *spa_env_test_begin(struct spa_env *env, int argc, char **argv, char *rundir);
int spa_env_test_end(struct spa_env *env, const char *rundir, int failures);

#endif
