/* http_impl: the hand-written HTTP/1.1 parser as a parser_impl (format "http",
 * name "hand").  Its canonical dump is specified at the top of http1.h. */
#ifndef WIRELAB_PARSERS_HTTP_HTTP_IMPL_H
#define WIRELAB_PARSERS_HTTP_HTTP_IMPL_H

#include "parsers/parser.h"

extern const struct parser_impl http1_hand_impl;

#endif
