/* ws: the RFC 6455 codec (handshake, incremental frame parser, encoders).
 * The contract is in ws.h; the comments here say why the code is the way it is. */
#include "io/ws/ws.h"
#include "parsers/utf8.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

enum { S_HDR, S_PAYLOAD, S_CLOSED, S_ERROR };

/* ---- small helpers ------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s", msg);
}

/* Does the comma-separated token list [s, s+n) hold tok (case-insensitive)? */
static int list_has_token(const char *s, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (s && i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
            i++;
        size_t b = i;
        while (i < n && s[i] != ',')
            i++;
        size_t e = i;
        while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
            e--;
        if (e - b == tl && strncasecmp(s + b, tok, tl) == 0) return 1;
    }
    return 0;
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* ---- handshake ------------------------------------------------------------------ */

int ws_accept_for_key(const char *key, size_t key_len, char accept[WS_ACCEPT_LEN + 1])
{
    /* SHA-1 over key + GUID; both are short, so one stack buffer holds them. */
    char in[128];
    size_t glen = sizeof(WS_GUID) - 1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (key_len + glen > sizeof(in)) return -1;
    memcpy(in, key, key_len);
    memcpy(in + key_len, WS_GUID, glen);
    if (!EVP_Digest(in, key_len + glen, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) return -1;
    int n = EVP_EncodeBlock((unsigned char *)accept, md, 20);
    assert(n == WS_ACCEPT_LEN);
    accept[n] = '\0';
    return 0;
}

int ws_handshake_check(const struct ws_handshake_req *r, char accept[WS_ACCEPT_LEN + 1], char *err,
                       size_t errlen)
{
    if (!r->method || r->method_len != 3 || memcmp(r->method, "GET", 3) != 0) {
        set_err(err, errlen, "websocket handshake must be a GET");
        return 400;
    }
    if (!list_has_token(r->upgrade, r->upgrade_len, "websocket")) {
        set_err(err, errlen, "missing 'Upgrade: websocket'");
        return 400;
    }
    if (!list_has_token(r->connection, r->connection_len, "upgrade")) {
        set_err(err, errlen, "missing 'Connection: Upgrade'");
        return 400;
    }
    if (!r->key) {
        set_err(err, errlen, "missing Sec-WebSocket-Key");
        return 400;
    }
    /* Version is checked after the key so a 426 is only sent to real WebSocket
     * clients, which then retry with a version we speak (section 4.4). */
    if (!r->version || r->version_len != 2 || memcmp(r->version, "13", 2) != 0) {
        set_err(err, errlen, "unsupported Sec-WebSocket-Version (want 13)");
        return 426;
    }
    /* base64 of 16 bytes is 22 alphabet characters and "==". */
    int ok = r->key_len == WS_KEY_LEN && r->key[22] == '=' && r->key[23] == '=';
    for (size_t i = 0; ok && i < 22; i++)
        ok = is_b64(r->key[i]);
    if (!ok) {
        set_err(err, errlen, "Sec-WebSocket-Key is not base64 of 16 bytes");
        return 400;
    }
    if (ws_accept_for_key(r->key, r->key_len, accept) != 0) {
        set_err(err, errlen, "SHA-1 failed");
        return 400;
    }
    return 0;
}

int ws_handshake_response(char *out, size_t cap, const char *accept)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

void ws_client_key(const uint8_t nonce[16], char key[WS_KEY_LEN + 1])
{
    int n = EVP_EncodeBlock((unsigned char *)key, nonce, 16);
    assert(n == WS_KEY_LEN);
    key[n] = '\0';
}

int ws_client_request(char *out, size_t cap, const char *host, int port, const char *path,
                      const char *key)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port, key);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

int ws_client_check(int status, const char *upgrade, const char *connection, const char *accept,
                    const char *key, char *err, size_t errlen)
{
    char want[WS_ACCEPT_LEN + 1];
    if (status != 101) {
        set_err(err, errlen, "server did not answer 101 Switching Protocols");
        return -1;
    }
    if (!upgrade || !list_has_token(upgrade, strlen(upgrade), "websocket") || !connection ||
        !list_has_token(connection, strlen(connection), "upgrade")) {
        set_err(err, errlen, "server's 101 lacks Upgrade: websocket / Connection: Upgrade");
        return -1;
    }
    if (ws_accept_for_key(key, strlen(key), want) != 0 || !accept || strcmp(accept, want) != 0) {
        set_err(err, errlen, "Sec-WebSocket-Accept does not match our key");
        return -1;
    }
    return 0;
}

const char *ws_close_reason(unsigned code)
{
    switch (code) {
    case 1000:
        return "normal closure";
    case 1001:
        return "going away";
    case 1002:
        return "protocol error";
    case 1003:
        return "unsupported data";
    case 1005:
        return "no status";
    case 1006:
        return "abnormal closure";
    case 1007:
        return "invalid payload data";
    case 1008:
        return "policy violation";
    case 1009:
        return "message too big";
    case 1011:
        return "internal error";
    default:
        return "other";
    }
}

/* Codes a peer may put on the wire (section 7.4; 1012-1014 registered later by IANA). */
static int close_code_valid(unsigned c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* ---- parser ------------------------------------------------------------------------ */

void ws_parser_init(struct ws_parser *p, enum ws_role role, uint8_t *msgbuf, size_t msgcap,
                    size_t max_frame)
{
    memset(p, 0, sizeof(*p));
    p->role = role;
    p->msg = msgbuf;
    p->msgcap = msgcap;
    p->max_frame = max_frame ? max_frame : msgcap;
    p->state = S_HDR;
    p->hdr_need = 2;
}

static size_t fail(struct ws_parser *p, struct ws_event *ev, unsigned code, const char *why,
                   size_t consumed)
{
    p->state = S_ERROR;
    p->err_code = code;
    p->err_why = why; /* static strings only, so later calls can repeat it */
    ev->type = WS_EV_ERROR;
    ev->code = code;
    ev->data = (const uint8_t *)why;
    ev->len = strlen(why);
    return consumed;
}

/* The first two header bytes are in: check everything they alone decide. */
static const char *check_first_two(struct ws_parser *p, unsigned *code)
{
    uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
    unsigned len7 = b1 & 0x7F;
    *code = WS_CLOSE_PROTOCOL;
    p->fin = b0 >> 7;
    p->opcode = b0 & 0x0F;
    p->masked = b1 >> 7;
    if (b0 & 0x70) return "reserved bits set without a negotiated extension";
    if ((p->opcode >= 3 && p->opcode <= 7) || p->opcode >= 0xB) return "reserved opcode";
    if (p->opcode >= 8) {
        if (!p->fin) return "fragmented control frame";
        if (len7 > WS_MAX_CONTROL) return "control frame payload over 125 bytes";
    } else if (p->opcode == WS_OP_CONT) {
        if (!p->msg_opcode) return "continuation frame without a message in progress";
    } else if (p->msg_opcode) {
        return "new data frame inside a fragmented message";
    }
    if (p->role == WS_SERVER && !p->masked) return "client frame is not masked";
    if (p->role == WS_CLIENT && p->masked) return "server frame is masked";
    p->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (p->masked ? 4 : 0);
    return NULL;
}

/* The whole header is in: decode the length and mask, check limits. */
static const char *check_header(struct ws_parser *p, unsigned *code)
{
    unsigned len7 = p->hdr[1] & 0x7F, off = 2;
    uint64_t len = len7;
    *code = WS_CLOSE_PROTOCOL;
    if (len7 == 126) {
        len = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
        off = 4;
        if (len < 126) return "16-bit length not minimally encoded";
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | p->hdr[2 + i];
        off = 10;
        if (len >> 63) return "64-bit length with the most significant bit set";
        if (len <= 0xFFFF) return "64-bit length not minimally encoded";
    }
    if (p->masked) memcpy(p->mask, p->hdr + off, 4);
    p->frame_len = len;
    p->frame_have = 0;
    if (p->opcode < 8) {
        *code = WS_CLOSE_TOO_BIG;
        if (len > p->max_frame) return "frame payload over the per-frame limit";
        size_t base = p->opcode == WS_OP_CONT ? p->msg_len : 0;
        if (len > p->msgcap - base) return "message over the per-message limit";
        if (p->opcode != WS_OP_CONT) {
            p->msg_opcode = p->opcode;
            p->msg_len = 0;
            p->utf8_state = 0;
        }
    }
    return NULL;
}

/* A control frame's payload is complete in ctl: turn it into an event. */
static int control_event(struct ws_parser *p, struct ws_event *ev, const char **why)
{
    size_t n = (size_t)p->frame_len;
    ev->data = p->ctl;
    ev->len = n;
    ev->code = 0;
    if (p->opcode == WS_OP_PING) {
        ev->type = WS_EV_PING;
        return 0;
    }
    if (p->opcode == WS_OP_PONG) {
        ev->type = WS_EV_PONG;
        return 0;
    }
    assert(p->opcode == WS_OP_CLOSE);
    ev->type = WS_EV_CLOSE;
    if (n == 0) {
        ev->code = WS_CLOSE_NO_STATUS;
        return 0;
    }
    if (n == 1) {
        *why = "close payload of one byte";
        return WS_CLOSE_PROTOCOL;
    }
    ev->code = ((unsigned)p->ctl[0] << 8) | p->ctl[1];
    if (!close_code_valid(ev->code)) {
        *why = "invalid close status code";
        return WS_CLOSE_PROTOCOL;
    }
    if (!utf8_valid(p->ctl + 2, n - 2)) {
        *why = "close reason is not UTF-8";
        return WS_CLOSE_BAD_DATA;
    }
    ev->data = p->ctl + 2;
    ev->len = n - 2;
    return 0;
}

/* The current frame's payload is complete: report what it finished, if anything.
 * Returns 1 when ev holds an event, 0 when not, -1 on a protocol error (in ev). */
static int frame_done(struct ws_parser *p, struct ws_event *ev, const char **why, unsigned *code)
{
    p->state = S_HDR;
    p->hdr_have = 0;
    p->hdr_need = 2;
    if (p->opcode >= 8) {
        unsigned c = (unsigned)control_event(p, ev, why);
        if (c) {
            *code = c;
            return -1;
        }
        if (ev->type == WS_EV_CLOSE) p->state = S_CLOSED;
        return 1;
    }
    if (!p->fin) return 0;
    if (p->msg_opcode == WS_OP_TEXT && p->utf8_state != 0) {
        *why = "text message ends inside a UTF-8 sequence";
        *code = WS_CLOSE_BAD_DATA;
        return -1;
    }
    ev->type = p->msg_opcode == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
    ev->data = p->msg;
    ev->len = p->msg_len;
    ev->code = 0;
    p->msg_opcode = 0;
    return 1;
}

size_t ws_parse(struct ws_parser *p, const uint8_t *data, size_t len, struct ws_event *ev)
{
    size_t i = 0;
    const char *why = NULL;
    unsigned code = 0;
    ev->type = WS_EV_NONE;
    ev->data = NULL;
    ev->len = 0;
    ev->code = 0;
    if (p->state == S_ERROR) return fail(p, ev, p->err_code, p->err_why, 0);
    if (p->state == S_CLOSED) return len; /* nothing may follow a close frame: discard */
    while (i < len || (p->state == S_PAYLOAD && p->frame_have == p->frame_len)) {
        if (p->state == S_HDR) {
            size_t take = p->hdr_need - p->hdr_have;
            if (take > len - i) take = len - i;
            memcpy(p->hdr + p->hdr_have, data + i, take);
            p->hdr_have += (unsigned)take;
            i += take;
            if (p->hdr_have == 2 && p->hdr_need == 2 && (why = check_first_two(p, &code)))
                return fail(p, ev, code, why, i);
            if (p->hdr_have < p->hdr_need) continue;
            if ((why = check_header(p, &code))) return fail(p, ev, code, why, i);
            p->state = S_PAYLOAD;
            continue;
        }
        assert(p->state == S_PAYLOAD);
        uint64_t left = p->frame_len - p->frame_have;
        size_t take = left < len - i ? (size_t)left : len - i;
        uint8_t *dst = p->opcode >= 8 ? p->ctl + p->frame_have : p->msg + p->msg_len;
        for (size_t k = 0; k < take; k++)
            dst[k] = p->masked ? data[i + k] ^ p->mask[(p->frame_have + k) & 3] : data[i + k];
        if (p->opcode < 8) {
            if (p->msg_opcode == WS_OP_TEXT && utf8_feed(&p->utf8_state, dst, take) != 0)
                return fail(p, ev, WS_CLOSE_BAD_DATA, "text message is not UTF-8", i + take);
            p->msg_len += take;
        }
        p->frame_have += take;
        i += take;
        if (p->frame_have < p->frame_len) continue; /* input ran out mid-payload */
        int r = frame_done(p, ev, &why, &code);
        if (r < 0) return fail(p, ev, code, why, i);
        if (r > 0) return p->state == S_CLOSED ? len : i;
    }
    return i;
}

/* ---- encoders ---------------------------------------------------------------------- */

size_t ws_header_len(size_t payload_len, int masked)
{
    return 2 + (payload_len < 126 ? 0 : payload_len <= 0xFFFF ? 2 : 8) + (masked ? 4 : 0);
}

int ws_encode(uint8_t *out, size_t cap, unsigned opcode, int fin, const void *payload, size_t len,
              const uint8_t *mask)
{
    size_t h = ws_header_len(len, mask != NULL);
    if (len > cap || h > cap - len || h + len > 0x7FFFFFFF) return -1;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    uint8_t mbit = mask ? 0x80 : 0;
    size_t o = 2;
    if (len < 126) {
        out[1] = (uint8_t)(mbit | len);
    } else if (len <= 0xFFFF) {
        out[1] = mbit | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        o = 4;
    } else {
        out[1] = mbit | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        o = 10;
    }
    const uint8_t *src = payload;
    if (mask) {
        memcpy(out + o, mask, 4);
        o += 4;
        for (size_t k = 0; k < len; k++)
            out[o + k] = src[k] ^ mask[k & 3];
    } else if (len) {
        memcpy(out + o, src, len);
    }
    return (int)(o + len);
}

int ws_encode_close(uint8_t *out, size_t cap, unsigned code, const char *reason,
                    const uint8_t *mask)
{
    uint8_t pl[WS_MAX_CONTROL];
    size_t n = 0;
    if (code) {
        pl[0] = (uint8_t)(code >> 8);
        pl[1] = (uint8_t)code;
        n = 2;
        size_t rl = reason ? strlen(reason) : 0;
        if (rl > WS_MAX_CONTROL - 2) rl = WS_MAX_CONTROL - 2;
        /* cutting must not split a UTF-8 sequence: back off to a character start */
        while (rl && rl < strlen(reason) && ((uint8_t)reason[rl] & 0xC0) == 0x80)
            rl--;
        if (rl) memcpy(pl + 2, reason, rl);
        n += rl;
    }
    return ws_encode(out, cap, WS_OP_CLOSE, 1, pl, n, mask);
}
