/* registry: the table of every parser_impl (parser.h), looked up by format and name,
 * so `parse`, the bench driver, the conformance runners and the fuzzers share one list.
 *
 * Contract
 * - registry_find(format, name): the implementation, or NULL when there is none.
 * - registry_lib(format): the default library for a format (the first non-"hand"
 *   entry of that format in the table), or NULL.
 * - registry_at(i) for i < registry_count(): every entry, in table order.
 * The table is static and read-only: adding an implementation is one line in registry.c.
 */
#ifndef WIRELAB_PARSERS_REGISTRY_H
#define WIRELAB_PARSERS_REGISTRY_H

#include "parsers/parser.h"

const struct parser_impl *registry_find(const char *format, const char *name);
const struct parser_impl *registry_lib(const char *format);
size_t registry_count(void);
const struct parser_impl *registry_at(size_t i);

#endif
