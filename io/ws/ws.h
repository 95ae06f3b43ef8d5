/* ws: a sans-I/O WebSocket (RFC 6455) codec: the opening handshake, an incremental
 * frame parser that assembles messages, and frame encoders.  It never reads, writes,
 * allocates or looks at the clock: the caller moves bytes, the codec says what they mean.
 *
 * Contract
 * - Handshake (server side, section 4.2.1).  The caller's HTTP parser fills a
 *   struct ws_handshake_req with the method and the raw values of the Upgrade,
 *   Connection, Sec-WebSocket-Version and Sec-WebSocket-Key headers (pointer + length,
 *   NULL/0 when absent; no NUL terminator assumed).  ws_handshake_check() returns 0
 *   and writes the Sec-WebSocket-Accept value (base64 of SHA-1 of key + GUID, 28
 *   chars + NUL) into accept; or returns the HTTP status the caller must answer with:
 *   400 (not a valid WebSocket request; reason in err) or 426 (version is not 13: the
 *   answer must carry "Sec-WebSocket-Version: 13").  Upgrade and Connection are token
 *   lists compared case-insensitively ("keep-alive, Upgrade" is fine); the key must be
 *   base64 of exactly 16 bytes.  ws_handshake_response() writes the whole
 *   "101 Switching Protocols" response (no extra headers), returning its length or -1
 *   when cap is too small.
 * - Handshake (client side).  ws_client_key() turns 16 caller-supplied random bytes
 *   into a key; ws_client_request() writes the GET request; ws_client_check() verifies
 *   the server's status, Upgrade, Connection and Sec-WebSocket-Accept (0 ok, -1 + err).
 * - Parser.  ws_parser_init(p, role, msgbuf, msgcap, max_frame): role WS_SERVER expects
 *   masked frames (from clients), WS_CLIENT expects unmasked frames (from servers).
 *   msgbuf (caller-owned, msgcap bytes) receives the unmasked payload of the data
 *   message being assembled: msgcap is the per-message limit, max_frame the per-frame
 *   payload limit (0 = msgcap).  ws_parse(p, data, len, &ev) consumes bytes until it has
 *   one event or runs out of input, and returns the number of bytes consumed (always
 *   <= len).  ev->type is:
 *     WS_EV_NONE     every byte consumed, need more (frames may split anywhere);
 *     WS_EV_TEXT / WS_EV_BINARY  a whole message (all fragments joined): ev->data,
 *                    ev->len point into msgbuf, valid until the next ws_parse call;
 *                    text is already checked to be UTF-8;
 *     WS_EV_PING / WS_EV_PONG    a control frame (may arrive between fragments):
 *                    payload (<= 125 bytes) in ev->data/len, inside the parser;
 *     WS_EV_CLOSE    the peer's close frame: ev->code (1005 when the frame had no
 *                    code), ev->data/len the UTF-8 reason.  Reply with a close frame
 *                    (ws_encode_close with the same code, or 1000) and close the
 *                    TCP connection; the call consumes all of len and later calls
 *                    discard their input (nothing may follow a close);
 *     WS_EV_ERROR    the peer broke the protocol: ev->code is the status to close
 *                    with (1002 protocol error, 1007 invalid UTF-8, 1009 too big),
 *                    ev->data/len a static human-readable reason.  The parser stays
 *                    in the error state (later calls repeat the event, consuming
 *                    nothing): send ws_encode_close(code) and close.
 *   Call ws_parse again with the remaining bytes (data + consumed) after each event.
 *   Errors caught: RSV1-3 set (no extension is ever negotiated), reserved opcodes,
 *   control frames fragmented or over 125 bytes, continuation without a message,
 *   a new data frame inside a fragmented message, wrong masking for the role,
 *   64-bit length with the top bit set or any length not minimally encoded, bad
 *   close payloads (1 byte, codes 0-999, 1004-1006, 1015, 1016-2999, 5000+),
 *   invalid UTF-8 in text messages (checked as fragments arrive, so it fails fast)
 *   and in close reasons, frame > max_frame or message > msgcap (1009).
 * - Encoders write one frame into out (cap bytes) and return its length, or -1 when
 *   it does not fit.  A NULL mask writes a server frame (unmasked); a 4-byte mask
 *   writes a client frame (masked, as RFC 6455 requires from clients).  Payload
 *   lengths pick the 7-, 16- or 64-bit form.  ws_encode_close() writes code + reason
 *   (reason cut to 123 bytes); code 0 writes an empty close frame.
 */
#ifndef WIRELAB_IO_WS_WS_H
#define WIRELAB_IO_WS_WS_H

#include <stddef.h>
#include <stdint.h>

#define WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_ACCEPT_LEN  28 /* base64 of a 20-byte SHA-1 */
#define WS_KEY_LEN     24 /* base64 of 16 bytes */
#define WS_MAX_HEADER  14 /* 2 + 8 (64-bit length) + 4 (mask) */
#define WS_MAX_CONTROL 125

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* reported, never sent */
    WS_CLOSE_BAD_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

enum ws_role { WS_SERVER, WS_CLIENT };

enum ws_event_type {
    WS_EV_NONE,
    WS_EV_TEXT,
    WS_EV_BINARY,
    WS_EV_PING,
    WS_EV_PONG,
    WS_EV_CLOSE,
    WS_EV_ERROR
};

struct ws_event {
    enum ws_event_type type;
    const uint8_t *data;
    size_t len;
    unsigned code; /* WS_EV_CLOSE: the peer's code; WS_EV_ERROR: the code to close with */
};

struct ws_parser {
    /* configuration */
    enum ws_role role;
    uint8_t *msg;
    size_t msgcap, max_frame;
    /* frame being read */
    int state; /* private: where in the frame we are */
    uint8_t hdr[WS_MAX_HEADER];
    unsigned hdr_have, hdr_need;
    unsigned opcode, fin;
    uint8_t mask[4];
    int masked;
    uint64_t frame_len, frame_have;
    /* message being assembled across fragments */
    unsigned msg_opcode; /* 0 when no message is in progress */
    size_t msg_len;
    uint32_t utf8_state; /* utf8_feed()'s (parsers/utf8.h) */
    uint8_t ctl[WS_MAX_CONTROL];
    /* after an error: what to repeat */
    unsigned err_code;
    const char *err_why;
};

struct ws_handshake_req {
    const char *method;
    size_t method_len;
    const char *upgrade;
    size_t upgrade_len;
    const char *connection;
    size_t connection_len;
    const char *version;
    size_t version_len;
    const char *key;
    size_t key_len;
};

int ws_handshake_check(const struct ws_handshake_req *r, char accept[WS_ACCEPT_LEN + 1], char *err,
                       size_t errlen);
int ws_accept_for_key(const char *key, size_t key_len, char accept[WS_ACCEPT_LEN + 1]);
int ws_handshake_response(char *out, size_t cap, const char *accept);

void ws_client_key(const uint8_t nonce[16], char key[WS_KEY_LEN + 1]);
int ws_client_request(char *out, size_t cap, const char *host, int port, const char *path,
                      const char *key);
int ws_client_check(int status, const char *upgrade, const char *connection, const char *accept,
                    const char *key, char *err, size_t errlen);

void ws_parser_init(struct ws_parser *p, enum ws_role role, uint8_t *msgbuf, size_t msgcap,
                    size_t max_frame);
size_t ws_parse(struct ws_parser *p, const uint8_t *data, size_t len, struct ws_event *ev);

int ws_encode(uint8_t *out, size_t cap, unsigned opcode, int fin, const void *payload, size_t len,
              const uint8_t *mask);
int ws_encode_close(uint8_t *out, size_t cap, unsigned code, const char *reason,
                    const uint8_t *mask);
size_t ws_header_len(size_t payload_len, int masked);

const char *ws_close_reason(unsigned code);

#endif
