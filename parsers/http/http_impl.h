/* http_impl: the HTTP/1.1 request parsers behind parsers/parser.h, format "http":
 *   http1_hand_impl   "hand"            http1.h (http_hand.c, entry in http_impl.c)
 *   http_parser_impl  "http-parser"     nodejs http-parser, Debian libhttp-parser
 *   http_llhttp_impl  "llhttp"          llhttp, compiled from Debian node-llhttp's C sources
 *   http_pico_impl    "picohttpparser"  picohttpparser, as Debian's libh2o ships it
 * Every one of them writes the canonical dump specified at the top of http1.h. */
#ifndef WIRELAB_PARSERS_HTTP_HTTP_IMPL_H
#define WIRELAB_PARSERS_HTTP_HTTP_IMPL_H

#include "parsers/parser.h"

extern const struct parser_impl http1_hand_impl;
extern const struct parser_impl http_parser_impl;
extern const struct parser_impl http_llhttp_impl;
extern const struct parser_impl http_pico_impl;

#endif
