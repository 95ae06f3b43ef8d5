# parsers/: the registry of every parser_impl and the UTF-8 checks the formats (and
# io/ws) share.  Each format's fragment adds its sources and link flags; PARSERS_LIBS is
# what a program using the registry links.
WL_SRCS += parsers/registry.c parsers/utf8.c
PARSERS_LIBS = $(JSON_LIBS) $(PROTO_LIBS) $(HTTP_LIBS)

# Programs and unit tests that link PARSERS_LIBS name themselves in PARSERS_USERS (labs/
# fragments are included before this one, so the list is complete here): they also
# depend on the archives that parsers/ builds from Debian's sources (llhttp).
PARSERS_USERS_BINS = $(foreach u,$(PARSERS_USERS),$(BUILD)/bin/$(u) $(ASAN_DIR)/bin/$(u) \
                       $(ASAN_DIR)/tests/$(u))
$(PARSERS_USERS_BINS): $(LLHTTP_A)

UNIT_TESTS += test_utf8
test_utf8_SRCS := tests/unit/test_utf8.c
