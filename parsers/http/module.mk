# parsers/http: the hand-written HTTP/1.1 request parser (http1.h, http_hand.c), its
# parser_impl ("http", "hand") and the library adapters behind the same interface.
WL_SRCS += parsers/http/http_hand.c parsers/http/http_fields.c parsers/http/http_impl.c

UNIT_TESTS += test_http1
test_http1_SRCS := tests/unit/test_http1.c

# Library adapters: nodejs http-parser, llhttp and picohttpparser.  llhttp is compiled
# from the C sources Debian's node-llhttp ships (never copied into the tree), with
# relaxed warnings since it is not our code, into one archive used by both builds.
# picohttpparser is linked from Debian's libh2o, which ships its code but not its header
# (http_lib_pico.c declares the documented API).
WL_SRCS += parsers/http/http_collect.c parsers/http/http_lib_httpparser.c \
           parsers/http/http_lib_llhttp.c parsers/http/http_lib_pico.c
DEPS_APT += libhttp-parser-dev node-llhttp libh2o-evloop-dev
LLHTTP_A := $(BUILD)/llhttp/libllhttp.a
HTTP_LIBS = -lhttp_parser $(LLHTTP_A) $(shell pkg-config --libs libh2o-evloop)
$(BUILD)/rel/obj/parsers/http/http_lib_llhttp.o $(BUILD)/asan/obj/parsers/http/http_lib_llhttp.o: \
	BASE_CFLAGS += -I/usr/share/include/llhttp
$(LLHTTP_A): $(wildcard /usr/share/llhttp/*.c)
	@mkdir -p $(dir $@)
	@echo "  CC      llhttp (from /usr/share/llhttp)"
	$(Q)for f in /usr/share/llhttp/*.c; do \
	  $(CC) -O2 -g -fPIC -w -I/usr/share/include/llhttp -c $$f -o $(BUILD)/llhttp/$$(basename $$f .c).o || exit 1; \
	done
	$(Q)rm -f $@ && ar rcs $@ $(BUILD)/llhttp/*.o
