/* http_fields: the HTTP/1.1 parser's pieces that run on a complete part of a request:
 * the forms of the request target, the Connection list, and the lookups over a parsed
 * request.  Contract in http1.h, internals in http_int.h. */
#include "parsers/http/http_int.h"

#include <assert.h>
#include <string.h>

static int is_alpha(uint8_t c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* reg-name characters of RFC 3986 (unreserved / pct-encoded / sub-delims): what an
 * authority-form host may hold besides an IP-literal in brackets. */
static int is_regname(uint8_t c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("-._~%!$&'()*+,;=", c));
}

/* authority-form = uri-host ":" port (RFC 9112 3.2.3), with a non-empty host and a
 * port of 1 to 5 digits (CONNECT needs one: RFC 9110 9.3.6). */
static int authority_form(const uint8_t *t, size_t n)
{
    size_t i = 0;
    if (n && t[0] == '[') { /* IP-literal: the inside is not taken apart */
        while (i < n && t[i] != ']') {
            if (t[i] == '/' || t[i] == '?' || t[i] == '@') return 0;
            i++;
        }
        if (i == n || i < 2) return 0;
        i++;
    } else {
        while (i < n && is_regname(t[i]))
            i++;
        if (i == 0) return 0;
    }
    if (i == n || t[i] != ':') return 0;
    size_t digits = n - i - 1;
    if (digits < 1 || digits > 5) return 0;
    for (i++; i < n; i++)
        if (!is_digit(t[i])) return 0;
    return 1;
}

const char *http1_target_form(struct http1_parser *p, const uint8_t *buf)
{
    struct http1_request *r = &p->req;
    const uint8_t *t = buf + r->target.off, *m = buf + r->method.off;
    size_t n = r->target.len, ml = r->method.len;
    p->connect = ml == 7 && memcmp(m, "CONNECT", 7) == 0;
    if (p->connect) { /* 3.2.3: CONNECT takes authority-form, and only CONNECT does */
        r->origin = (struct http1_span){r->target.off + r->target.len, 0};
        return authority_form(t, n) ? NULL : "CONNECT needs an authority-form target (host:port)";
    }
    if (t[0] == '/') { /* 3.2.1 origin-form */
        r->origin = r->target;
        return NULL;
    }
    if (n == 1 && t[0] == '*') { /* 3.2.4 asterisk-form */
        r->origin = r->target;
        return ml == 7 && memcmp(m, "OPTIONS", 7) == 0 ? NULL
                                                       : "the target '*' is for OPTIONS only";
    }
    /* 3.2.2 absolute-form: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    size_t i = 0;
    if (!is_alpha(t[0])) return "invalid request target (origin-form starts with '/')";
    while (i < n && (is_alpha(t[i]) || is_digit(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.'))
        i++;
    if (i == n || t[i] != ':') return "invalid request target (origin-form starts with '/')";
    int http = IEQ_LIT(t, i, "http") || IEQ_LIT(t, i, "https");
    i++;
    if (n - i >= 2 && t[i] == '/' && t[i + 1] == '/') { /* "//" authority path-abempty */
        size_t h = i + 2;
        i = h;
        while (i < n && t[i] != '/' && t[i] != '?')
            i++;
        /* RFC 9110 4.2.1: an http(s) URI with an empty host is invalid */
        const uint8_t *at = memchr(t + h, '@', i - h);
        size_t host = at ? (size_t)(at - t) + 1 : h;
        if (http && (host == i || t[host] == ':')) return "http(s) target without a host";
    } else if (http) {
        return "http(s) target without \"//\" and a host";
    } else {
        i = n; /* another scheme's URI has no origin-form part */
    }
    r->origin = (struct http1_span){r->target.off + (uint32_t)i, (uint32_t)(n - i)};
    return NULL;
}

void http1_connection(struct http1_parser *p, const uint8_t *v, size_t n)
{
    /* #connection-option: elements between commas, OWS around them; an element is an
     * option only when all of it is the token ("foo keep-alive" is none). */
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (IEQ_LIT(v + s, e - s, "close"))
            p->conn_close = 1;
        else if (IEQ_LIT(v + s, e - s, "keep-alive"))
            p->conn_keepalive = 1;
        else if (IEQ_LIT(v + s, e - s, "upgrade"))
            p->conn_upgrade = 1;
    }
}

int http1_span_eq(const uint8_t *buf, struct http1_span s, const char *lit)
{
    return strlen(lit) == s.len && memcmp(buf + s.off, lit, s.len) == 0;
}

int http1_span_ieq(const uint8_t *buf, struct http1_span s, const char *lit)
{
    return http1_ieqn(buf + s.off, s.len, lit, strlen(lit));
}

static const struct http1_header *find_in(const struct http1_header *h, size_t n,
                                          const uint8_t *buf, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (http1_span_ieq(buf, h[i].name, name)) return &h[i];
    return NULL;
}

const struct http1_header *http1_find(const struct http1_request *r, const uint8_t *buf,
                                      const char *name)
{
    return find_in(r->headers, r->nheaders, buf, name);
}

const struct http1_header *http1_find_trailer(const struct http1_request *r, const uint8_t *buf,
                                              const char *name)
{
    return find_in(r->headers + r->nheaders, r->ntrailers, buf, name);
}
