/* The emulator's network: what comes out for a packet stream, by hand-checked rules.
 * Packets carry their sequence number as the sample value. */
#include <stdio.h>
#include <string.h>

#include "netsim.h"

#define MAXN 4096

struct out {
	int64_t seq[MAXN];
	int lost[MAXN];
	int n;
};

static void on_out(void *data, uint64_t seq, int64_t frame, const float *samples, uint32_t n, int lost)
{
	struct out *o = data;
	if (o->n < MAXN && n == 1 && samples[0] == (float)frame) {
		o->seq[o->n] = (int64_t)seq;
		o->lost[o->n++] = lost;
	}
}

static int failures;

static void check(const char *name, int ok)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", name);
	if (!ok)
		failures++;
}

/* Runs 0..count-1 through a netsim set up by the caller; collects what arrives. */
static void run(struct netsim *ns, struct out *o, int count)
{
	memset(o, 0, sizeof(*o));
	netsim_init(ns, 1, 16, on_out, o);
	for (int i = 0; i < count; i++) {
		float s = (float)i;
		netsim_packet(ns, (uint64_t)i, i, &s, 1, 1, 0);
	}
	netsim_flush(ns);
	netsim_free(ns);
}

int main(void)
{
	struct netsim a, b;
	static struct out oa, ob;

	memset(&a, 0, sizeof(a));
	run(&a, &oa, 1000);
	int plain = oa.n == 1000;
	for (int i = 0; i < oa.n && plain; i++)
		plain = oa.seq[i] == i && !oa.lost[i];
	check("no damage: every packet once, in order", plain);

	/* the same seed gives the same damage; every kind happens */
	memset(&a, 0, sizeof(a));
	a.loss = 0.03, a.reorder = 0.03, a.duplicate = 0.03, a.seed = 7;
	memset(&b, 0, sizeof(b));
	b.loss = 0.03, b.reorder = 0.03, b.duplicate = 0.03, b.seed = 7;
	run(&a, &oa, 2000);
	run(&b, &ob, 2000);
	check("seeded: same seed, same stream", oa.n == ob.n && memcmp(oa.seq, ob.seq, sizeof(oa.seq)) == 0);
	check("seeded: loss, reorder and duplicates all happened", a.n_lost > 20 && a.n_reordered > 20 && a.n_duplicated > 20);

	/* reorder depth 1: a held packet arrives right after the next one; a duplicate with delay
	 * 0 right after its original; lost packets are reported as lost */
	int rule_ok = 1, swaps = 0, dups = 0;
	for (int i = 1; i < oa.n; i++) {
		if (oa.seq[i] == oa.seq[i - 1] && !oa.lost[i])
			dups++;
		if (oa.seq[i] < oa.seq[i - 1]) {
			swaps++;
			rule_ok &= oa.seq[i] == oa.seq[i - 1] - 1 || oa.seq[i] == oa.seq[i - 1] - 2;
		}
	}
	check("reorder depth 1 and duplicate delay 0 land next to their neighbours", rule_ok && swaps > 0 && dups > 0);

	/* spacing: damaged packets at least K apart */
	memset(&a, 0, sizeof(a));
	a.loss = 0.2, a.seed = 3, a.spacing = 5;
	run(&a, &oa, 2000);
	int prev = -100, spaced = 1;
	for (int i = 0; i < oa.n; i++)
		if (oa.lost[i]) {
			spaced &= oa.seq[i] - prev > 5;
			prev = (int)oa.seq[i];
		}
	check("spacing 5: lost packets at least 6 apart", spaced && a.n_lost > 100);

	/* missed cycles: never sent, the numbering closes up */
	memset(&a, 0, sizeof(a));
	a.miss = 0.05, a.seed = 9;
	memset(&oa, 0, sizeof(oa));
	netsim_init(&a, 1, 16, on_out, &oa);
	int closed = 1;
	int nf = 0;
	for (int i = 0; i < 1000; i++) {
		float s = (float)i;
		int before = oa.n;
		netsim_packet(&a, (uint64_t)i, i, &s, 1, 1, 0);
		if (oa.n > before)
			nf++;
	}
	netsim_free(&a);
	for (int i = 0; i < oa.n; i++)
		closed &= oa.seq[i] == i;
	check("missed cycles: sequence numbers close up", closed && a.n_missed > 20 && nf == 1000 - (int)a.n_missed);

	printf("%s: %d failures\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
