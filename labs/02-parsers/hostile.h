/* hostile: inputs built to find a parser's worst case, for parse-hostile (the
 * complexity test and the bench's complexity table).
 *
 * Contract
 * - hostile_gens[] lists every generator: a format, a name, what it attacks, and a
 *   function that writes the input at a scale (1, 4, 16, ...) into a buffer.  The
 *   input grows in proportion to the scale; a linear parser's time does too.
 * - hostile_normal(format, buf) writes that format's normal corpus (the lab's
 *   generated orders; for HTTP, pipelined browser requests), the per-byte yardstick.
 * - Functions return 0, or -1 when out of memory.
 */
#ifndef WIRELAB_LABS_PARSERS_HOSTILE_H
#define WIRELAB_LABS_PARSERS_HOSTILE_H

#include <stddef.h>
#include <stdint.h>

struct hbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
};

struct hostile_gen {
    const char *format, *name, *what;
    void (*gen)(struct hbuf *b, unsigned scale);
    /* feed the parser one byte more per call instead of the whole input at once
     * (HTTP only: how a server meets a slow client) */
    int bytewise;
};

extern const struct hostile_gen hostile_gens[];
extern const size_t hostile_ngens;

int hostile_normal(const char *format, struct hbuf *b);
void hbuf_free(struct hbuf *b);

#endif
