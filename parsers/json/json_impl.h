/* json_impl: the JSON implementations behind the parser_impl interface (parser.h):
 * "hand" (json.h), "cjson" (Debian libcjson) and "jansson" (Debian libjansson).
 * Their --dump output is json_dump()'s canonical form (json.h). */
#ifndef WIRELAB_PARSERS_JSON_IMPL_H
#define WIRELAB_PARSERS_JSON_IMPL_H

#include "parsers/parser.h"

extern const struct parser_impl json_hand_impl;
extern const struct parser_impl json_cjson_impl;
extern const struct parser_impl json_jansson_impl;

#endif
