# parsers/xml/: the XML parsers (hand-written, libxml2 SAX and DOM, expat), their
# conformance runner and tests.  Contract and --dump format in parsers/xml/xml.h.
WL_SRCS += parsers/xml/xml_lex.c parsers/xml/xml_dtd.c parsers/xml/xml_hand.c \
           parsers/xml/xml_dump.c parsers/xml/xml_libxml2.c parsers/xml/xml_expat.c
PKGS += libxml-2.0 expat
DEPS_APT += libxml2-dev libexpat1-dev shared-mime-info iso-codes npm

# Link flags for anything using the library adapters; the registry's programs get them.
XML_LIBS = $(shell pkg-config --libs libxml-2.0 expat)
PARSERS_LIBS += $(XML_LIBS)

UNIT_TESTS += test_xml
test_xml_SRCS := tests/unit/test_xml.c
test_xml_LIBS = $(XML_LIBS)

# The conformance runner (cases listed by xmlconf_cases.py from the npm suite).
PROGS += xmlconf
xmlconf_SRCS := parsers/xml/xmlconf.c
xmlconf_LIBS = $(XML_LIBS)
