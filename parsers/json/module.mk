# parsers/json: the hand-written strict RFC 8259 parser (json.h) and the cJSON and
# jansson adapters, all behind parsers/parser.h.
WL_SRCS += parsers/json/json_hand.c parsers/json/json_dump.c parsers/utf8.c \
           parsers/json/json_impl.c parsers/json/json_lib_cjson.c parsers/json/json_lib_jansson.c \
           parsers/json/json_write.c
PKGS += libcjson jansson
DEPS_APT += libcjson-dev libjansson-dev
# Link flags for any program or test that uses the JSON library adapters.
JSON_LIBS = $(shell pkg-config --libs libcjson jansson)

UNIT_TESTS += test_json
test_json_SRCS := tests/unit/test_json.c
