/* lib_http_impls: the HTTP library adapters behind parser.h, format "http":
 * "http-parser" (Debian libhttp-parser) and "llhttp" (node-llhttp's C sources).
 * Both write the canonical dump of http1.h. */
#ifndef WIRELAB_PARSERS_HTTP_LIB_HTTP_IMPLS_H
#define WIRELAB_PARSERS_HTTP_LIB_HTTP_IMPLS_H

#include "parsers/parser.h"

extern const struct parser_impl http_parser_impl;
extern const struct parser_impl http_llhttp_impl;

#endif
