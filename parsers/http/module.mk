# parsers/http: the hand-written HTTP/1.1 request parser (http1) and its
# parser_impl ("http", "hand").
WL_SRCS += parsers/http/http1.c parsers/http/http_impl.c

UNIT_TESTS += test_http1
test_http1_SRCS := tests/unit/test_http1.c

# Library adapters (engineer "parsers"): nodejs http-parser and llhttp.  llhttp is
# compiled from the C sources Debian's node-llhttp ships (never copied into the tree),
# with relaxed warnings since it is not our code, into one archive used by both builds.
WL_SRCS += parsers/http/http_lib.c parsers/http/lib_httpparser.c parsers/http/lib_llhttp.c
DEPS_APT += libhttp-parser-dev node-llhttp
LLHTTP_A := $(BUILD)/llhttp/libllhttp.a
HTTP_LIBS = -lhttp_parser $(LLHTTP_A)
$(BUILD)/rel/obj/parsers/http/lib_llhttp.o $(BUILD)/asan/obj/parsers/http/lib_llhttp.o: \
	BASE_CFLAGS += -I/usr/share/include/llhttp
$(LLHTTP_A): $(wildcard /usr/share/llhttp/*.c)
	@mkdir -p $(dir $@)
	@echo "  CC      llhttp (from /usr/share/llhttp)"
	$(Q)for f in /usr/share/llhttp/*.c; do \
	  $(CC) -O2 -g -fPIC -w -I/usr/share/include/llhttp -c $$f -o $(BUILD)/llhttp/$$(basename $$f .c).o || exit 1; \
	done
	$(Q)rm -f $@ && ar rcs $@ $(BUILD)/llhttp/*.o
