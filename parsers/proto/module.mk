# parsers/proto: the lab's schema (wirelab.proto), the hand-written wire-format
# decoder/encoder (proto.h) and the protobuf-c adapter, whose code protoc-c generates
# at build time into $(BUILD)/gen/parsers/proto/.
PROTO_GEN := $(BUILD)/gen/parsers/proto/wirelab.pb-c
WL_SRCS += parsers/proto/proto_hand.c parsers/proto/proto_arena.c parsers/proto/proto_encode.c \
           parsers/proto/proto_dump.c \
           parsers/proto/proto_impl.c parsers/proto/proto_lib_protobufc.c $(PROTO_GEN).c
GEN_HDRS += $(PROTO_GEN).h
PKGS += libprotobuf-c
DEPS_APT += libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
PROTO_LIBS = $(shell pkg-config --libs libprotobuf-c)

$(PROTO_GEN).c $(PROTO_GEN).h: parsers/proto/wirelab.proto
	@mkdir -p $(BUILD)/gen
	@echo "  PROTOC  $<"
	$(Q)protoc-c --c_out=$(BUILD)/gen $<

UNIT_TESTS += test_proto
test_proto_SRCS := tests/unit/test_proto.c
UNIT_TESTS += test_proto_wire
test_proto_wire_SRCS := tests/unit/test_proto_wire.c
test_proto_wire_LIBS = $(PROTO_LIBS)
