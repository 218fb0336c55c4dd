/* See spa-env.h. */
#include "spa-env.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spa/utils/names.h>

#define DIE(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

const struct spa_handle_factory *spa_env_factory(const char *lib, const char *name)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		DIE("dlopen %s: %s", lib, dlerror());
	spa_handle_factory_enum_func_t enum_func =
		(spa_handle_factory_enum_func_t)dlsym(h, SPA_HANDLE_FACTORY_ENUM_FUNC_NAME);
	if (!enum_func)
		DIE("%s exports no %s", lib, SPA_HANDLE_FACTORY_ENUM_FUNC_NAME);
	const struct spa_handle_factory *f;
	uint32_t index = 0;
	while (enum_func(&f, &index) > 0)
		if (strcmp(f->name, name) == 0)
			return f;
	DIE("%s has no factory %s", lib, name);
}

struct spa_handle *spa_env_instantiate(const struct spa_handle_factory *f, const struct spa_dict *info,
				       const struct spa_support *support, uint32_t n_support, int *res)
{
	struct spa_handle *h = calloc(1, spa_handle_factory_get_size(f, info));
	*res = spa_handle_factory_init(f, h, info, support, n_support);
	if (*res < 0) {
		free(h);
		return NULL;
	}
	return h;
}

void spa_env_free_handle(struct spa_handle *h)
{
	if (h) {
		spa_handle_clear(h);
		free(h);
	}
}

void *spa_env_iface(struct spa_handle *h, const char *type)
{
	void *i = NULL;
	if (spa_handle_get_interface(h, type, &i) < 0 || !i)
		DIE("no interface %s", type);
	return i;
}

static struct spa_handle *must(const struct spa_handle_factory *f, const struct spa_support *support,
			       uint32_t n_support)
{
	int res;
	struct spa_handle *h = spa_env_instantiate(f, NULL, support, n_support, &res);
	if (!h)
		DIE("init %s: %s", f->name, strerror(-res));
	return h;
}

void spa_env_init(struct spa_env *env, const char *support_lib)
{
	memset(env, 0, sizeof(*env));
	env->system = must(spa_env_factory(support_lib, SPA_NAME_SUPPORT_SYSTEM), NULL, 0);
	struct spa_system *system = spa_env_iface(env->system, SPA_TYPE_INTERFACE_System);
	struct spa_support base[2] = { SPA_SUPPORT_INIT(SPA_TYPE_INTERFACE_System, system) };
	env->log = must(spa_env_factory(support_lib, SPA_NAME_SUPPORT_LOG), base, 1);
	struct spa_log *log = spa_env_iface(env->log, SPA_TYPE_INTERFACE_Log);
	base[1] = SPA_SUPPORT_INIT(SPA_TYPE_INTERFACE_Log, log);
	const struct spa_handle_factory *loop = spa_env_factory(support_lib, SPA_NAME_SUPPORT_LOOP);
	env->main_loop = must(loop, base, 2);
	env->data_loop = must(loop, base, 2);
	env->main_ctrl = spa_env_iface(env->main_loop, SPA_TYPE_INTERFACE_LoopControl);
	struct spa_support *s = env->support;
	s[0] = SPA_SUPPORT_INIT(SPA_TYPE_INTERFACE_System, system);
	s[1] = SPA_SUPPORT_INIT(SPA_TYPE_INTERFACE_DataSystem, system);
	s[2] = SPA_SUPPORT_INIT(SPA_TYPE_INTERFACE_Log, log);
	s[3] = SPA_SUPPORT_INIT(SPA_TYPE_INTERFACE_Loop, spa_env_iface(env->main_loop, SPA_TYPE_INTERFACE_Loop));
	s[4] = SPA_SUPPORT_INIT(SPA_TYPE_INTERFACE_LoopUtils,
				spa_env_iface(env->main_loop, SPA_TYPE_INTERFACE_LoopUtils));
	/* Never entered by a thread: invokes on it run inline, which is what a test wants. */
	s[5] = SPA_SUPPORT_INIT(SPA_TYPE_INTERFACE_DataLoop, spa_env_iface(env->data_loop, SPA_TYPE_INTERFACE_Loop));
	env->n_support = 6;
	spa_loop_control_enter(env->main_ctrl);
}

void spa_env_clear(struct spa_env *env)
{
	spa_loop_control_leave(env->main_ctrl);
	spa_env_free_handle(env->data_loop);
	spa_env_free_handle(env->main_loop);
	spa_env_free_handle(env->log);
	spa_env_free_handle(env->system);
	memset(env, 0, sizeof(*env));
}

const char *spa_env_test_begin(struct spa_env *env, int argc, char **argv, char *rundir)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s PLUGIN.so libspa-support.so\n", argv[0]);
		exit(2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(rundir))
		DIE("mkdtemp %s: %s", rundir, strerror(errno));
	setenv("XDG_RUNTIME_DIR", rundir, 1);
	spa_env_init(env, argv[2]);
	return argv[1];
}

int spa_env_test_end(struct spa_env *env, const char *rundir, int failures)
{
	spa_env_clear(env);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/pw-ghost-rec", rundir);
	rmdir(path);
	rmdir(rundir);
	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}
