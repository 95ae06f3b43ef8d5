# labs/02-parsers: the `parse` tool, the bench driver and the dataset generator.
PROGS += parse
parse_SRCS := labs/02-parsers/parse.c
parse_LIBS = $(PARSERS_LIBS)
