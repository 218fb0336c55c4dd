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

#endif
