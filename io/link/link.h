/* link: the scheduling core of a network link emulator, without system calls.  Bytes
 * and the time they were sent go in; the time each byte may be handed to the other
 * side comes out.  linkem (labs/12-links) moves the bytes; this file decides when.
 *
 * A link direction is three things (RFC 1242's latency, a router's queue, a wire):
 * - serialization: a byte takes 8/rate seconds to leave; bytes leave one after the
 *   other, in the order they entered, whichever connection sent them;
 * - queueing: bytes wait for the wire in one FIFO of `queue` bytes shared by every
 *   connection (a router's output buffer);
 * - propagation: a byte arrives `delay` after it left, plus or minus a jitter.
 *
 * Contract
 * - Times are nanoseconds on the caller's clock (linkem: CLOCK_MONOTONIC); the caller
 *   passes `now` and never goes back in time.  Nothing here reads a clock, sleeps or
 *   does I/O, so a test drives it with a fake clock.
 * - A link_path is one direction of the link, shared by every flow over it: the
 *   parameters, when the wire is next free, and the jitter's random state.  A
 *   link_flow is one connection's bytes in one direction: the bytes held (entered,
 *   not yet taken by the caller) and their release times.
 * - Release times: bytes are cut into segments when the path has a rate (a segment
 *   per push when it has none): LINK_SEG bytes, or what the wire sends in
 *   LINK_SEG_NS when that is more (a fast link hands bytes out in bursts of at most
 *   50 us, as a NIC's interrupt coalescing does, instead of 86,000 wake-ups a second
 *   at 1 gbit); link_path_seg() says how many.  A segment starts to leave
 *   when the wire is free, no earlier than the flow's open time; it has left after
 *   len*8/rate; it arrives delay + U[-jitter, +jitter] later (never below zero), and
 *   never before the segment in front of it (TCP delivers in order, so jitter does
 *   not reorder).  link_flow_peek() hands out only bytes whose segment has arrived.
 * - Bounds (backpressure, never unbounded memory): link_flow_space() is what a push
 *   takes now: at most `queue` bytes held by the flow (waiting for the wire, on the
 *   wire, or arrived and not yet taken), at most the room left in the shared queue,
 *   and at most LINK_MAX_SEGS segments.  A push takes what fits and returns the
 *   count; when it is 0 the caller stops reading that side, as a full link makes a
 *   TCP sender stop.  A flow holds at most queue + LINK_MAX_SEGS * 16 bytes.
 * - Ends: link_flow_end(FIN) queues a FIN behind the flow's bytes; it arrives no
 *   earlier than the last byte, and link_flow_ended() reports it once every byte has
 *   been taken (then the caller half-closes the receiver).  link_flow_end(RST)
 *   arrives the same way, and link_flow_ended() reports it when due even when bytes
 *   are still held: a reset discards what the receiver has not read.  A RST may
 *   follow a FIN (the sender closed, then reset); it never arrives before it.  Nothing
 *   is pushed after an end.
 * - The handshake: link_handshake() gives the open times of a connection accepted at
 *   `now`: the client's first byte leaves after one round trip (SYN, SYN-ACK), and
 *   the server's after the third packet reached it (its accept).
 * - Errors: link_flow_push() returns -1 with errno ENOMEM when the flow cannot grow
 *   its buffers; link_path_init() asserts sane parameters.
 */
#ifndef WIRELAB_IO_LINK_H
#define WIRELAB_IO_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LINK_SEG      1448  /* bytes per segment at a rate: a TCP payload on Ethernet */
#define LINK_SEG_NS   50000 /* ... or what the wire sends in 50 us, when more */
#define LINK_MAX_SEGS 4096  /* segments one flow holds at most */
#define LINK_NEVER    UINT64_MAX

struct link_params {
    uint64_t delay_ns;  /* one-way propagation delay */
    uint64_t jitter_ns; /* each segment's delay varies by up to this, either way */
    uint64_t rate_bps;  /* bits per second; 0 = no limit (no serialization, no queue) */
    size_t queue;       /* bytes: the shared queue, and what one flow may hold */
};

struct link_path {
    struct link_params p;
    uint64_t wire_free_ns; /* when the wire has sent every byte it has taken */
    uint64_t rng;          /* xorshift64 state for the jitter */
    size_t seg;            /* segment size at the rate (link_path_seg) */
    uint64_t bytes;        /* bytes taken, in all */
};

struct link_seg {
    uint64_t at_ns; /* when the segment's last byte has arrived */
    uint32_t len;
};

enum link_end { LINK_OPEN = 0, LINK_FIN = 1, LINK_RST = 2 };

struct link_flow {
    struct link_path *path;
    uint64_t open_ns; /* no byte leaves before this (the handshake) */
    uint8_t *buf;     /* ring of the held bytes; grown on demand, freed when empty */
    size_t bcap, bhead, held;
    struct link_seg *segs; /* ring of the held bytes' segments, in order */
    size_t scap, shead, nsegs;
    size_t taken;        /* bytes of the head segment already taken */
    uint64_t last_at_ns; /* arrival of the newest segment */
    enum link_end end;
    uint64_t end_at_ns;
};

void link_path_init(struct link_path *path, const struct link_params *p, uint64_t seed);
/* Bytes per segment at this path's rate (0 when it has no rate). */
size_t link_path_seg(const struct link_path *path);
/* Bytes the shared queue takes at now (SIZE_MAX when the path has no rate). */
size_t link_path_room(const struct link_path *path, uint64_t now_ns);
/* The earliest time at which the shared queue has room for want bytes (want <= queue). */
uint64_t link_path_room_at(const struct link_path *path, size_t want);

/* A connection accepted at now: when the client's bytes may leave (up_open) and the
 * server's (down_open), and when a refusal (a RST answering the SYN) reaches the client. */
void link_handshake(const struct link_path *up, const struct link_path *down, uint64_t now_ns,
                    uint64_t *up_open_ns, uint64_t *down_open_ns, uint64_t *refused_ns);

void link_flow_init(struct link_flow *f, struct link_path *path, uint64_t open_ns);
/* Discards every held byte and frees the buffers (also what a reset, or a receiver
 * that is gone, does to the bytes in flight); the flow's end stays as it was. */
void link_flow_free(struct link_flow *f);
size_t link_flow_space(const struct link_flow *f, uint64_t now_ns);
/* Takes up to len bytes (what link_flow_space allows) sent at now; returns the count. */
ssize_t link_flow_push(struct link_flow *f, uint64_t now_ns, const void *data, size_t len);
/* The arrived bytes at the head, contiguous in memory (call again after consume: the
 * ring may wrap); 0 when none has arrived. */
size_t link_flow_peek(const struct link_flow *f, uint64_t now_ns, const uint8_t **p);
void link_flow_consume(struct link_flow *f, size_t n);
/* When the next segment or the end arrives (maybe in the past); LINK_NEVER when none. */
uint64_t link_flow_next_ns(const struct link_flow *f);
void link_flow_end(struct link_flow *f, uint64_t now_ns, enum link_end how);
/* LINK_FIN once the FIN has arrived and every byte was taken; LINK_RST once the RST has
 * arrived; else LINK_OPEN. */
enum link_end link_flow_ended(const struct link_flow *f, uint64_t now_ns);

#endif
