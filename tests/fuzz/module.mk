# tests/fuzz: libFuzzer targets (clang -fsanitize=fuzzer,address,undefined), built from
# the parser sources directly (not libwire.a, which gcc builds) into $(BUILD)/fuzz/.
#   make fuzz              every target for FUZZ_SECONDS (default 60) each, new inputs
#                          kept in $(BUILD)/fuzz/corpus/NAME, crashes in $(BUILD)/fuzz/
#   tests/integration/parsers.sh replays tests/fuzz/corpus/NAME and runs each briefly,
#                          FUZZ_TARGETS and FUZZ_OTHER_TARGETS alike.
# The saved corpus tests/fuzz/corpus/NAME is only ever read: libFuzzer writes new inputs
# into the FIRST corpus directory it is given, so every run here passes a scratch
# directory first ($(BUILD)/fuzz/corpus/NAME; parsers.sh runs on a copy in its temp
# dir).  Running a target by hand on tests/fuzz/corpus/NAME alone would fill it with
# generated files: pass a scratch directory first.  Seeds worth keeping are added by
# hand (a named file, committed), never by a fuzzer run.
FUZZ_SECONDS ?= 60
FUZZ_CC := clang
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined -I. -I$(BUILD)/gen -I/usr/share/include/llhttp
FUZZ_TARGETS := fuzz_json fuzz_json_diff fuzz_proto fuzz_proto_diff fuzz_http fuzz_http_diff fuzz_xml fuzz_xml_diff fuzz_write
fuzz_json_FSRCS := tests/fuzz/fuzz_json.c parsers/json/json_hand.c parsers/json/json_dump.c parsers/utf8.c
fuzz_proto_FSRCS := tests/fuzz/fuzz_proto.c parsers/proto/proto_hand.c parsers/proto/proto_arena.c \
                    parsers/proto/proto_encode.c \
                    parsers/utf8.c
fuzz_json_diff_FSRCS := tests/fuzz/fuzz_json_diff.c parsers/json/json_hand.c parsers/json/json_dump.c \
                        parsers/utf8.c parsers/json/json_impl.c parsers/json/json_lib_jansson.c
fuzz_json_diff_FLIBS = $(shell pkg-config --libs jansson)
fuzz_proto_diff_FSRCS := tests/fuzz/fuzz_proto_diff.c parsers/proto/proto_hand.c parsers/proto/proto_arena.c \
                         parsers/proto/proto_encode.c \
                         parsers/proto/proto_dump.c parsers/proto/proto_impl.c parsers/proto/proto_lib_protobufc.c \
                         parsers/utf8.c $(BUILD)/gen/parsers/proto/wirelab.pb-c.c
fuzz_proto_diff_FLIBS = $(shell pkg-config --libs libprotobuf-c)
fuzz_http_FSRCS := tests/fuzz/fuzz_http.c parsers/http/http_hand.c parsers/http/http_fields.c
fuzz_http_diff_FSRCS := tests/fuzz/fuzz_http_diff.c parsers/http/http_hand.c parsers/http/http_fields.c parsers/http/http_impl.c \
                        parsers/http/http_collect.c parsers/http/http_lib_llhttp.c parsers/http/http_lib_pico.c \
                        $(wildcard /usr/share/llhttp/*.c)
fuzz_http_diff_FLIBS = $(shell pkg-config --libs libh2o-evloop)
fuzz_xml_FSRCS := tests/fuzz/fuzz_xml.c parsers/xml/xml_lex.c parsers/xml/xml_dtd.c \
                  parsers/xml/xml_hand.c parsers/xml/xml_doc.c parsers/xml/xml_dump.c parsers/xml/xml_map.c \
                  parsers/utf8.c
# hand vs expat; expat's shared library is named as a source (this rule has no LIBS)
fuzz_xml_diff_FSRCS := tests/fuzz/fuzz_xml_diff.c $(fuzz_xml_FSRCS:tests/fuzz/fuzz_xml.c=) \
                       parsers/xml/xml_lib_expat.c $(shell pkg-config --variable=libdir expat)/libexpat.so
# the JSON and XML writers: written text parses back to the input (hand parsers)
fuzz_write_FSRCS := tests/fuzz/fuzz_write.c parsers/json/json_write.c parsers/xml/xml_write.c \
                    parsers/json/json_hand.c parsers/json/json_dump.c $(fuzz_xml_FSRCS:tests/fuzz/fuzz_xml.c=)
DEPS_APT += clang

# Targets whose sources, build rule and `make fuzz` run live in another module (fuzz_ws:
# io/ws/module.mk builds tests/fuzz/fuzz_ws.c); listed so `make test` builds them and
# parsers.sh replays tests/fuzz/corpus/NAME and runs them briefly like the ones above.
FUZZ_OTHER_TARGETS := fuzz_ws

FUZZ_BINS := $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
# Built with the sanitized flavour, so `make test` (which builds asan) has them.
asan: $(FUZZ_BINS) $(addprefix $(BUILD)/fuzz/,$(FUZZ_OTHER_TARGETS))

define FUZZ_RULE
$(BUILD)/fuzz/$(1): $$($(1)_FSRCS) | $(GEN_HDRS)
	@mkdir -p $$(dir $$@)
	@echo "  FUZZ    $$@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ $$($(1)_FSRCS) $$($(1)_FLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz: $(FUZZ_BINS)
	$(Q)for t in $(FUZZ_TARGETS); do \
	  name=$${t#fuzz_}; mkdir -p $(BUILD)/fuzz/corpus/$$name; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
	    -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus/$$name tests/fuzz/corpus/$$name \
	    >$(BUILD)/fuzz/$$t.log 2>&1; rc=$$?; tail -3 $(BUILD)/fuzz/$$t.log; \
	  [ $$rc -eq 0 ] || { echo "$$t: finding, see $(BUILD)/fuzz/$$t.log and $(BUILD)/fuzz/$$t-*"; exit 1; }; \
	done
