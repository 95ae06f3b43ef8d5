/* registry: the one table of parser implementations (contract in registry.h).
 * Order matters only within a format: its first library entry is the default --lib. */
#include "parsers/registry.h"
#include "parsers/http/http_impl.h"
#include "parsers/json/json_impl.h"
#include "parsers/proto/proto_impl.h"
#include "parsers/xml/xml.h"

#include <string.h>

static const struct parser_impl *const registry_table[] = {
    &http1_hand_impl,      &http_parser_impl, &http_llhttp_impl,     &http_pico_impl,
    &json_hand_impl,       &json_cjson_impl,  &json_jansson_impl,    &proto_hand_impl,
    &proto_protobufc_impl, &xml_hand_impl,    &xml_libxml2_sax_impl, &xml_libxml2_dom_impl,
    &xml_expat_impl,
};

size_t registry_count(void)
{
    return sizeof registry_table / sizeof registry_table[0];
}

const struct parser_impl *registry_at(size_t i)
{
    return i < registry_count() ? registry_table[i] : NULL;
}

const struct parser_impl *registry_find(const char *format, const char *name)
{
    for (size_t i = 0; i < registry_count(); i++)
        if (!strcmp(registry_table[i]->format, format) && !strcmp(registry_table[i]->name, name))
            return registry_table[i];
    return NULL;
}

const struct parser_impl *registry_lib(const char *format)
{
    for (size_t i = 0; i < registry_count(); i++)
        if (!strcmp(registry_table[i]->format, format) && strcmp(registry_table[i]->name, "hand"))
            return registry_table[i];
    return NULL;
}
