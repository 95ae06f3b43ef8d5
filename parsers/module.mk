# parsers/: the registry of every parser_impl.  Each format's fragment adds its
# sources and link flags; PARSERS_LIBS is what a program using the registry links.
WL_SRCS += parsers/registry.c
PARSERS_LIBS = $(JSON_LIBS) $(PROTO_LIBS) $(HTTP_LIBS)
