/* Take state machine: marker/preroll/postroll arithmetic, stop before the marker, repeated
 * stops, preroll the ring no longer has, and the persisted state surviving a round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "take.h"
#include "../unit/check.h"

int main(void)
{
	struct take t, u;
	char buf[4096], err[256];

	/* normal take: marker at 100000, preroll 2 s, postroll 1 s at 48 kHz */
	take_begin(&t, 7, "ghostrec", TAKE_FORMAT_FLOAT32, false, 48000, 2, 1, 2.0, 1.0);
	CHECK(t.state == TAKE_ARMED && t.preroll_frames == 96000 && t.postroll_frames == 48000);
	CHECK_EQ_U64(take_spool_limit(&t, 500000), 0); /* nothing until the marker is known */
	CHECK_EQ_U64(take_marked(&t, 100000, 0), 0);
	CHECK(t.state == TAKE_RECORDING);
	CHECK_EQ_U64(t.start_frame, 4000);
	CHECK_EQ_U64(take_marker_offset(&t), 96000);
	CHECK_EQ_U64(take_spool_limit(&t, 150000), 150000);
	CHECK(!take_add_spooled(&t, 146000));
	CHECK(take_stop(&t, 200000));
	CHECK(!take_stop(&t, 250000)); /* a second stop changes nothing */
	CHECK(t.state == TAKE_POSTROLL && t.stop_frame == 200000 && t.end_frame == 248000);
	CHECK_EQ_U64(take_spool_limit(&t, 300000), 248000);
	CHECK_EQ_U64(take_spool_limit(&t, 210000), 210000);
	CHECK(!take_add_spooled(&t, 200000 - 150000));
	CHECK(take_add_spooled(&t, 48000));
	CHECK(t.state == TAKE_SPOOLED);
	CHECK_EQ_U64(take_frames(&t), 244000); /* 2 s preroll + 100000 + 1 s postroll */

	/* stop arrives before the marker: applied once the marker is known */
	take_begin(&t, 8, "ghostrec", TAKE_FORMAT_PCM24, true, 48000, 1, 1, 0.5, 0.25);
	CHECK(take_stop(&t, 5000));
	CHECK(t.state == TAKE_ARMED && t.stop_pending);
	take_marked(&t, 6000, 0);
	CHECK(t.state == TAKE_POSTROLL);
	CHECK_EQ_U64(t.stop_frame, 6000); /* never before the marker */
	CHECK_EQ_U64(t.end_frame, 6000 + 12000);
	CHECK_EQ_U64(t.start_frame, 0); /* marker - preroll clamps at the timeline start */
	CHECK_EQ_U64(t.lost_frames, 0);

	/* the ring lost part of the preroll */
	take_begin(&t, 9, "ghostrec", TAKE_FORMAT_FLOAT32, false, 48000, 2, 3, 2.0, 1.0);
	CHECK_EQ_U64(take_marked(&t, 1000000, 950000), 1000000 - 96000 > 950000 ? 0 : 950000 - (1000000 - 96000));
	CHECK_EQ_U64(t.start_frame, 950000);
	CHECK_EQ_U64(t.lost_frames, 46000);
	CHECK_EQ_U64(take_marked(&t, 5, 0), 0); /* only ARMED takes accept a marker */
	CHECK_EQ_U64(t.marker_frame, 1000000);

	/* persistence */
	snprintf(t.channel_map[0], sizeof(t.channel_map[0]), "FL");
	snprintf(t.channel_map[1], sizeof(t.channel_map[1]), "FR");
	t.request_frame = 999000;
	t.marker_missing = true;
	int n = take_to_json(&t, buf, sizeof(buf));
	CHECK(n > 0);
	printf("%s\n", buf);
	CHECK(take_from_json(&u, buf, (size_t)n, err, sizeof(err)) == 0);
	u.spooled = t.spooled;
	CHECK(memcmp(&t, &u, sizeof(t)) == 0);
	char dir[] = "/tmp/ghostrec-take-XXXXXX", path[4200];
	CHECK(mkdtemp(dir) != NULL);
	CHECK(spool_init(dir, err, sizeof(err)) == 0);
	spool_state_path(path, sizeof(path), dir, t.take_id);
	CHECK(take_save(&t, path) == 0);
	CHECK(take_load(&u, path, err, sizeof(err)) == 0);
	CHECK(u.take_id == 9 && u.start_frame == 950000 && u.marker_missing && !strcmp(u.channel_map[1], "FR"));
	CHECK(take_from_json(&u, "{\"take_id\":1}", 13, err, sizeof(err)) < 0);
	const char *dancing = "{\"take_id\":1,\"node\":\"a\",\"rate\":1,\"channels\":1,\"state\":\"dancing\"}";
	CHECK(take_from_json(&u, dancing, strlen(dancing), err, sizeof(err)) < 0);
	printf("bad state: %s\n", err);

	/* take ids: increasing, persisted, unique across "restarts" */
	uint32_t a = 0, b = 0, c = 0;
	CHECK(spool_next_take_id(dir, &a) == 0);
	CHECK(spool_next_take_id(dir, &b) == 0);
	CHECK(spool_next_take_id(dir, &c) == 0);
	CHECK(a < b && b < c && a > 1000);
	printf("take ids %u %u %u\n", a, b, c);

	/* one exporter per spool dir */
	int lock = spool_lock(dir, err, sizeof(err));
	CHECK(lock >= 0);
	CHECK(spool_lock(dir, err, sizeof(err)) < 0);
	printf("second exporter: %s\n", err);
	CHECK(strstr(err, "in use by another ghostrec-exporter") != NULL);
	close(lock);
	lock = spool_lock(dir, err, sizeof(err));
	CHECK(lock >= 0);
	close(lock);

	unlink(path);
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/next-take-id", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/queue", dir);
	rmdir(path);
	rmdir(dir);
	return check_report("test-take");
}
