/* proto_arena: the allocator decoded messages live in (contract in proto.h): chunks
 * freed together, a byte limit checked before each chunk is taken.
 *
 * Small allocations share 32 KiB chunks; anything over 2 KiB gets a chunk of its own,
 * so the tail left unused when a chunk is abandoned is under 2 KiB: at most a
 * sixteenth of what the chunks hold. */
#include "parsers/proto/proto.h"

#include <errno.h>
#include <stdlib.h>

#define ARENA_CHUNK 32768u
#define ARENA_BIG   2048u

struct proto_chunk {
    struct proto_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

static struct proto_chunk *arena_chunk(struct proto_arena *a, size_t size)
{
    if (a->limit && (size > a->limit || a->used > a->limit - size)) {
        a->over = 1;
        errno = ENOMEM;
        return NULL;
    }
    struct proto_chunk *c = malloc(sizeof *c + size);
    if (!c) return NULL;
    c->size = size;
    c->used = 0;
    a->used += size;
    return c;
}

void *proto_arena_alloc(struct proto_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct proto_chunk *c = a->head;
    if (size > ARENA_BIG) { /* its own chunk, kept behind the one small pieces come from */
        struct proto_chunk *b = arena_chunk(a, size);
        if (!b) return NULL;
        b->used = size;
        if (c) {
            b->next = c->next;
            c->next = b;
        } else {
            b->next = NULL;
            a->head = b;
        }
        return b->data;
    }
    if (!c || c->size - c->used < size) {
        if (!(c = arena_chunk(a, ARENA_CHUNK))) return NULL;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

void proto_arena_free(struct proto_arena *a)
{
    struct proto_chunk *c = a->head;
    while (c) {
        struct proto_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used = 0;
    a->over = 0;
}
