/* Shared-memory ring: creation (node side) and the reader (exporter side). See ring.h. */
#include "ring.h"
#include "control.h"
#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int ghostrec_ring_shm_name(char *buf, size_t len, const char *node_name)
{
	int n = snprintf(buf, len, "/pw-ghost-rec-%u-", (unsigned)getuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	size_t pos = (size_t)n;
	for (const char *p = node_name; *p; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
		if (pos + 1 >= len || pos >= 200)
			return -ENAMETOOLONG;
		buf[pos++] = ok ? ch : '_';
	}
	if (pos == (size_t)n)
		return -EINVAL;
	buf[pos] = '\0';
	return 0;
}

static size_t header_bytes(void)
{
	/* Keep the data page-aligned-ish (64-byte multiple is enough for vector loads). */
	return (sizeof(struct ghostrec_ring_header) + 63u) & ~(size_t)63u;
}

static int random_u64(uint64_t *out)
{
	ssize_t n;
	do
		n = getrandom(out, sizeof(*out), 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*out) ? 0 : -EIO;
}

static int locator_name(char *buf, size_t size, const char *node_name)
{
	int n = snprintf(buf, size, "%s.ring", node_name);
	return (n < 0 || (size_t)n >= size || strchr(node_name, '/')) ? -EINVAL : 0;
}

/* Points <rundir>/<node>.ring at w's object; first unlinks the object a previous locator named
 * if it is one of this node's (a ring left behind by a node that crashed, or the one being
 * replaced: mapped copies stay valid, only the name goes). */
static void publish_locator(struct ghostrec_ring_writer *w, const char *node_name,
			    const char *prefix)
{
	char dir[256], name[128], old[256], text[160];
	w->locator_error[0] = '\0';
	if (locator_name(name, sizeof(name), node_name) < 0) {
		snprintf(w->locator_error, sizeof(w->locator_error), "node name \"%s\" cannot name "
			 "a locator file", node_name);
		return;
	}
	if (ghostrec_rundir_ensure(dir, sizeof(dir), w->locator_error, sizeof(w->locator_error)) < 0)
		return;
	size_t pl = strlen(prefix);
	if (ghostrec_rundir_read(dir, name, old, sizeof(old), NULL, 0) == 0 &&
	    strncmp(old, prefix, pl) == 0 && old[pl] == '-' && !strchr(old + 1, '/') &&
	    strcmp(old, w->shm_name) != 0)
		shm_unlink(old);
	snprintf(text, sizeof(text), "%s\n", w->shm_name);
	ghostrec_rundir_write(dir, name, text, w->locator_error, sizeof(w->locator_error));
}

static int writer_create(struct ghostrec_ring_writer *w, const char *node_name, uint32_t rate,
			 uint32_t channels, const uint32_t *positions, uint64_t capacity,
			 uint64_t start_frame, uint64_t generation, bool publish)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (channels == 0 || channels > GHOSTREC_RING_MAX_CHANNELS || capacity == 0 ||
	    capacity > GHOSTREC_RING_MAX_CAPACITY || generation == 0)
		return -EINVAL;
	int res = ghostrec_ring_shm_name(w->shm_name, sizeof(w->shm_name), node_name);
	if (res < 0)
		return res;

	size_t stride = ((size_t)capacity * sizeof(float) + 63u) & ~(size_t)63u;
	size_t size = header_bytes() + stride * channels;

	/* A fresh unguessable name: nobody else can have created it, so O_EXCL only fails on an
	 * astronomically unlikely collision (then another name is drawn). */
	char prefix[128];
	memcpy(prefix, w->shm_name, sizeof(prefix));
	int fd = -1;
	for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
		uint64_t rnd;
		if (random_u64(&rnd) < 0)
			return -EIO;
		int n = snprintf(w->shm_name, sizeof(w->shm_name), "%s-%016llx", prefix,
				 (unsigned long long)rnd);
		if (n < 0 || (size_t)n >= sizeof(w->shm_name))
			return -ENAMETOOLONG;
		fd = shm_open(w->shm_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)size) < 0) {
		res = -errno;
		goto fail;
	}
	/* Reserve the pages now: a sparse object on a full /dev/shm would SIGBUS the real-time
	 * thread on its first write, inside the sound server. */
	if ((res = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		res = -res;
		goto fail;
	}
	/* MAP_POPULATE: no page faults on the real-time thread's first pass over the ring. */
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		res = -errno;
		goto fail;
	}
	w->fd = fd;
	w->map = map;
	w->size = size;
	w->hdr = map;
	w->data = (float *)((char *)map + header_bytes());
	w->channel_floats = stride / sizeof(float);

	struct ghostrec_ring_header *h = w->hdr;
	h->header_size = (uint32_t)header_bytes();
	h->channels = channels;
	h->capacity = capacity;
	h->channel_stride = stride;
	h->total_size = size;
	atomic_store(&h->rate, rate);
	atomic_store(&h->generation, generation);
	atomic_store(&h->gen_start_frame, start_frame);
	atomic_store(&h->write_begin, start_frame);
	atomic_store(&h->write_frame, start_frame);
	for (uint32_t c = 0; c < channels; c++)
		h->positions[c] = positions ? positions[c] : 0;
	snprintf(h->node_name, sizeof(h->node_name), "%s", node_name);
	h->writer_pid = (int32_t)getpid();
	if (random_u64(&h->instance) < 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		h->instance = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
	}
	h->version = GHOSTREC_RING_VERSION;
	/* Magic last: a reader that sees it sees a complete header. */
	if (publish)
		ghostrec_ring_writer_publish(w);
	publish_locator(w, node_name, prefix);
	return 0;

fail:
	close(fd);
	shm_unlink(w->shm_name);
	return res;
}

int ghostrec_ring_writer_create(struct ghostrec_ring_writer *w, const char *node_name,
				uint32_t rate, uint32_t channels, const uint32_t *positions,
				uint64_t capacity, uint64_t start_frame, uint64_t generation)
{
	return writer_create(w, node_name, rate, channels, positions, capacity, start_frame,
			     generation, true);
}

int ghostrec_ring_writer_create_unpublished(struct ghostrec_ring_writer *w, const char *node_name,
					    uint32_t rate, uint32_t channels, const uint32_t *positions,
					    uint64_t capacity, uint64_t start_frame, uint64_t generation)
{
	return writer_create(w, node_name, rate, channels, positions, capacity, start_frame,
			     generation, false);
}

void ghostrec_ring_writer_destroy(struct ghostrec_ring_writer *w, bool unlink_shm)
{
	if (w->map) {
		atomic_store(&w->hdr->retired, 1);
		if (unlink_shm) {
			char dir[256], name[128];
			if (ghostrec_ctl_dir(dir, sizeof(dir)) == 0 &&
			    locator_name(name, sizeof(name), w->hdr->node_name) == 0)
				ghostrec_rundir_remove_if(dir, name, w->shm_name);
			shm_unlink(w->shm_name);
		}
		munmap(w->map, w->size);
	}
	if (w->fd >= 0)
		close(w->fd);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

/* ---- reader ---- */

struct ghostrec_ring_reader {
	char node_name[GHOSTREC_RING_NAME_MAX];
	char shm_name[128];
	const void *map;
	size_t size;
	const struct ghostrec_ring_header *hdr;
	const float *data;
	size_t channel_floats;
	char error[1024];
};

#define READER_ERR(...) snprintf(r->error, sizeof(r->error), __VA_ARGS__)

/* The node's current shm name, from its locator in our runtime directory. */
static int resolve_ring(struct ghostrec_ring_reader *r, char *shm, size_t shm_size)
{
	char dir[256], name[128], prefix[128], why[320];
	int res = ghostrec_ring_shm_name(prefix, sizeof(prefix), r->node_name);
	if (res < 0 || (res = locator_name(name, sizeof(name), r->node_name)) < 0) {
		READER_ERR("node name \"%s\" is not usable", r->node_name);
		return res;
	}
	if ((res = ghostrec_rundir_check(dir, sizeof(dir), why, sizeof(why))) < 0 ||
	    (res = ghostrec_rundir_read(dir, name, shm, shm_size, why,
					sizeof(why))) < 0) {
		if (res == -ENOENT)
			READER_ERR("node %s: ring not available (no %s/%s): is the node running?", r->node_name,
				   dir, name);
		else
			READER_ERR("node %s: %s", r->node_name, why);
		return res;
	}
	size_t pl = strlen(prefix);
	if (strncmp(shm, prefix, pl) != 0 || shm[pl] != '-' ||
	    strchr(shm + 1, '/')) {
		READER_ERR("node %s: locator %s/%s names \"%s\", not one of this node's rings: "
			   "refusing it", r->node_name, dir, name, shm);
		return -EPERM;
	}
	return 0;
}

static int map_ring(struct ghostrec_ring_reader *r)
{
	r->error[0] = '\0';
	char shm[128];
	int res = resolve_ring(r, shm, sizeof(shm));
	if (res < 0)
		return res;
	int fd = shm_open(shm, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		res = -errno;
		if (res == -ENOENT)
			READER_ERR("node %s: ring %s is gone (the node stopped or is restarting)",
				   r->node_name, shm);
		else
			READER_ERR("node %s: ring %s: %s", r->node_name, shm, strerror(-res));
		return res;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		res = -errno;
		READER_ERR("node %s: ring %s: %s", r->node_name, shm, strerror(-res));
		goto out;
	}
	/* Only a ring this user made, private to it, is a ring we record from: anything else may
	 * carry another user's samples. */
	if (st.st_uid != geteuid()) {
		res = -EPERM;
		READER_ERR("node %s: ring /dev/shm%s belongs to uid %u, not to this user (uid %u): "
			   "refusing it", r->node_name, shm, (unsigned)st.st_uid,
			   (unsigned)geteuid());
		goto out;
	}
	if ((st.st_mode & 07777) != 0600) {
		res = -EPERM;
		READER_ERR("node %s: ring /dev/shm%s has mode %04o, not 0600: refusing it",
			   r->node_name, shm, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((size_t)st.st_size < sizeof(struct ghostrec_ring_header)) {
		res = -EPROTO;
		READER_ERR("node %s: ring %s is too small to be a ghostrec ring", r->node_name,
			   shm);
		goto out;
	}
	size_t size = (size_t)st.st_size;
	const void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		res = -errno;
		READER_ERR("node %s: ring %s: mmap: %s", r->node_name, shm, strerror(-res));
		goto out;
	}
	const struct ghostrec_ring_header *h = map;
	uint32_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
	if (magic != GHOSTREC_RING_MAGIC || h->version != GHOSTREC_RING_VERSION ||
	    h->header_size < sizeof(*h) || h->channels == 0 ||
	    h->channels > GHOSTREC_RING_MAX_CHANNELS || h->capacity == 0 ||
	    h->channel_stride < h->capacity * sizeof(float) || h->total_size != size ||
	    (uint64_t)h->header_size + h->channel_stride * h->channels > size) {
		munmap((void *)map, size);
		res = magic == 0 ? -EAGAIN : -EPROTO;
		if (magic == 0)
			READER_ERR("node %s: ring %s is being set up", r->node_name, shm);
		else
			READER_ERR("node %s: %s is not a ghostrec ring of version %u", r->node_name,
				   shm, GHOSTREC_RING_VERSION);
		goto out;
	}
	if (r->map)
		munmap((void *)r->map, r->size);
	memcpy(r->shm_name, shm, sizeof(r->shm_name));
	r->map = map;
	r->size = size;
	r->hdr = h;
	r->data = (const float *)((const char *)map + h->header_size);
	r->channel_floats = h->channel_stride / sizeof(float);
out:
	close(fd);
	return res;
}

int ghostrec_ring_reader_open_err(struct ghostrec_ring_reader **out, const char *node_name,
				  char *err, size_t err_size)
{
	struct ghostrec_ring_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		if (err && err_size)
			snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	snprintf(r->node_name, sizeof(r->node_name), "%s", node_name);
	int res = map_ring(r);
	if (res < 0) {
		if (err && err_size)
			snprintf(err, err_size, "%s", r->error[0] ? r->error : strerror(-res));
		free(r);
		return res;
	}
	*out = r;
	return 0;
}

int ghostrec_ring_reader_open(struct ghostrec_ring_reader **out, const char *node_name)
{
	return ghostrec_ring_reader_open_err(out, node_name, NULL, 0);
}

const char *ghostrec_ring_reader_error(const struct ghostrec_ring_reader *r)
{
	return r->error;
}

void ghostrec_ring_reader_close(struct ghostrec_ring_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap((void *)r->map, r->size);
	free(r);
}

int ghostrec_ring_reader_refresh(struct ghostrec_ring_reader *r)
{
	if (!atomic_load_explicit(&r->hdr->retired, memory_order_acquire))
		return 0;
	int res = map_ring(r);
	return res < 0 ? res : 1;
}

int ghostrec_ring_reader_info(struct ghostrec_ring_reader *r, struct ghostrec_ring_info *info)
{
	int res = ghostrec_ring_reader_refresh(r);
	if (res < 0)
		return res;
	const struct ghostrec_ring_header *h = r->hdr;
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t gen = atomic_load_explicit(&h->generation, memory_order_acquire);
		memset(info, 0, sizeof(*info));
		info->generation = gen;
		info->rate = atomic_load_explicit(&h->rate, memory_order_relaxed);
		info->channels = h->channels;
		info->capacity = h->capacity;
		info->gen_start_frame = atomic_load_explicit(&h->gen_start_frame, memory_order_relaxed);
		info->write_frame = atomic_load_explicit(&h->write_frame, memory_order_acquire);
		uint64_t wb = atomic_load_explicit(&h->write_begin, memory_order_relaxed);
		uint64_t oldest = wb > h->capacity ? wb - h->capacity : 0;
		info->oldest_frame = oldest > info->gen_start_frame ? oldest : info->gen_start_frame;
		memcpy(info->positions, h->positions, sizeof(info->positions));
		info->instance = h->instance;
		info->writer_pid = h->writer_pid;
		memcpy(info->node_name, h->node_name, sizeof(info->node_name));
		info->node_name[sizeof(info->node_name) - 1] = '\0';
		snprintf(info->shm_name, sizeof(info->shm_name), "%s", r->shm_name);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&h->generation, memory_order_relaxed) == gen)
			return 0;
	}
	return -EAGAIN;
}

static int read_range(struct ghostrec_ring_reader *r, uint64_t generation, uint32_t first_channel,
		      uint32_t n_channels, uint64_t frame, float *const *dst, uint32_t n)
{
	const struct ghostrec_ring_header *h = r->hdr;
	if (atomic_load_explicit(&h->retired, memory_order_acquire))
		return GHOSTREC_RING_GENERATION;
	if (first_channel + n_channels > h->channels || n_channels == 0)
		return -EINVAL;
	if (n == 0)
		return GHOSTREC_RING_OK;
	if (n > h->capacity)
		return -E2BIG;
	if (frame + n < frame)
		return -EINVAL;

	uint64_t gen = atomic_load_explicit(&h->generation, memory_order_acquire);
	if (generation != 0 && gen != generation)
		return GHOSTREC_RING_GENERATION;
	uint64_t gen_start = atomic_load_explicit(&h->gen_start_frame, memory_order_relaxed);
	uint64_t wf = atomic_load_explicit(&h->write_frame, memory_order_acquire);
	if (frame < gen_start)
		return generation == 0 ? GHOSTREC_RING_OVERWRITTEN : GHOSTREC_RING_GENERATION;
	if (frame + n > wf)
		return GHOSTREC_RING_NOT_YET;
	/* Cheap early check; the authoritative one is after the copy. */
	if (wf > h->capacity && frame < wf - h->capacity)
		return GHOSTREC_RING_OVERWRITTEN;

	uint64_t cap = h->capacity;
	uint32_t done = 0;
	while (done < n) {
		uint64_t slot = (frame + done) % cap;
		uint32_t chunk = n - done;
		if (chunk > cap - slot)
			chunk = (uint32_t)(cap - slot);
		for (uint32_t c = 0; c < n_channels; c++)
			memcpy(dst[c] + done, r->data + (first_channel + c) * r->channel_floats + slot,
			       chunk * sizeof(float));
		done += chunk;
	}

	atomic_thread_fence(memory_order_acquire);
	uint64_t wb = atomic_load_explicit(&h->write_begin, memory_order_relaxed);
	if (atomic_load_explicit(&h->generation, memory_order_relaxed) != gen ||
	    atomic_load_explicit(&h->retired, memory_order_relaxed))
		return GHOSTREC_RING_GENERATION;
	if (wb > cap && frame < wb - cap)
		return GHOSTREC_RING_OVERWRITTEN;
	return GHOSTREC_RING_OK;
}

int ghostrec_ring_read(struct ghostrec_ring_reader *r, uint64_t generation, uint32_t channel,
		       uint64_t frame, float *dst, uint32_t n)
{
	float *d[1] = { dst };
	return read_range(r, generation, channel, 1, frame, d, n);
}

int ghostrec_ring_read_frames(struct ghostrec_ring_reader *r, uint64_t generation, uint64_t frame,
			      float *const *dst, uint32_t n)
{
	return read_range(r, generation, 0, r->hdr->channels, frame, dst, n);
}

size_t ghostrec_ring_reader_markers(struct ghostrec_ring_reader *r, struct ghostrec_ring_marker *out,
				    size_t max, uint64_t *total)
{
	const struct ghostrec_ring_header *h = r->hdr;
	for (;;) {
		uint64_t count = atomic_load_explicit(&h->marker_count, memory_order_acquire);
		uint64_t avail = count < GHOSTREC_RING_MAX_MARKERS ? count : GHOSTREC_RING_MAX_MARKERS;
		if (avail > max)
			avail = max;
		uint64_t first = count - avail;
		for (uint64_t i = 0; i < avail; i++)
			out[i] = h->markers[(first + i) % GHOSTREC_RING_MAX_MARKERS];
		atomic_thread_fence(memory_order_acquire);
		uint64_t again = atomic_load_explicit(&h->marker_count, memory_order_relaxed);
		/* Entries are only rewritten GHOSTREC_RING_MAX_MARKERS records later. */
		if (again - first <= GHOSTREC_RING_MAX_MARKERS) {
			if (total)
				*total = count;
			return (size_t)avail;
		}
	}
}

void ghostrec_ring_counters_load(const struct ghostrec_ring_header *h,
				 struct ghostrec_ring_counter_values *out)
{
	const struct ghostrec_ring_counters *c = &h->counters;
	out->cycles = atomic_load_explicit(&c->cycles, memory_order_relaxed);
	out->xruns = atomic_load_explicit(&c->xruns, memory_order_relaxed);
	out->max_process_ns = atomic_load_explicit(&c->max_process_ns, memory_order_relaxed);
	out->last_process_ns = atomic_load_explicit(&c->last_process_ns, memory_order_relaxed);
	out->overruns = atomic_load_explicit(&c->overruns, memory_order_relaxed);
	out->format_changes = atomic_load_explicit(&c->format_changes, memory_order_relaxed);
	out->markers = atomic_load_explicit(&c->markers, memory_order_relaxed);
	out->last_quantum = atomic_load_explicit(&c->last_quantum, memory_order_relaxed);
}

void ghostrec_ring_reader_counters(struct ghostrec_ring_reader *r,
				   struct ghostrec_ring_counter_values *out)
{
	ghostrec_ring_counters_load(r->hdr, out);
}

const char *ghostrec_ring_result_str(int result)
{
	switch (result) {
	case GHOSTREC_RING_OK: return "ok";
	case GHOSTREC_RING_NOT_YET: return "not written yet";
	case GHOSTREC_RING_OVERWRITTEN: return "overwritten";
	case GHOSTREC_RING_GENERATION: return "format changed (new generation)";
	default: return result < 0 ? strerror(-result) : "unknown";
	}
}
