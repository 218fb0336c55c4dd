/* Watches the PipeWire graph for setups that spoil REAPER's take without any error:
 *   - summing: the destination's input port (PWAR's `pwar:input`) is fed by something other
 *     than the ghostrec node, e.g. the interface PWAR's GUI links from its saved "Input" on
 *     start. PipeWire mixes all links into an input port, so the take is no longer the clean
 *     audio plus the marker;
 *   - quantum: the graph runs more than 128 frames per cycle while the destination is PWAR
 *     (`pwar`, present in the graph): PWAR's router refuses such packets and REAPER records
 *     nothing.
 * A small registry client on its own PipeWire thread loop keeps the nodes, ports and links;
 * graph_watch_check() evaluates them on the caller's thread. */
#ifndef GHOSTREC_EXPORTER_GRAPH_WATCH_H
#define GHOSTREC_EXPORTER_GRAPH_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "jsonw.h"

#define GRAPH_WATCH_MAX_WARNINGS 4
#define GRAPH_WATCH_PWAR_MAX_QUANTUM 128u
#define GRAPH_WATCH_RETRY_TICKS 10  /* reconnect attempts: every 10 graph_watch_tick calls */

struct graph_watch;

struct graph_watch_report {
	bool connected;                 /* the registry client is connected to PipeWire */
	bool destination_found;
	char fed_by[512];               /* "node:port, node:port" linked into the destination */
	unsigned n_warnings;
	char warnings[GRAPH_WATCH_MAX_WARNINGS][640];
};

/* destination: node.name of what the tap feeds ("" = no graph checks). taps: node.names of
 * the ghostrec nodes. Starts the registry client; a PipeWire that is not there (yet) only
 * leaves report.connected false. NULL when out of memory. */
struct graph_watch *graph_watch_new(const char *destination, const char (*taps)[64], unsigned n_taps);
void graph_watch_free(struct graph_watch *gw);

/* The graph now. quantum: the graph's frames per cycle as the tap node last saw it (0 =
 * unknown). */
void graph_watch_check(struct graph_watch *gw, uint64_t quantum, struct graph_watch_report *rep);

/* Checks and logs each warning once when it appears and a line when it clears; keeps the
 * last report for graph_watch_status_json. Called from the exporter's loop. */
void graph_watch_tick(struct graph_watch *gw, uint64_t quantum);

/* "graph": {"destination", "connected", "destination_found", "fed_by", "warnings": [...]} */
void graph_watch_status_json(struct graph_watch *gw, struct jsonw *jw);

#endif
