# labs/02-parsers: the `parse` tool, the bench driver and the dataset generator.
PROGS += parse
parse_SRCS := labs/02-parsers/parse.c
parse_LIBS = $(PARSERS_LIBS)
# (the llhttp archive path is spelled out: parsers/http/module.mk is included after this file)
$(BUILD)/bin/parse $(BUILD)/asan/bin/parse: $(BUILD)/llhttp/libllhttp.a
