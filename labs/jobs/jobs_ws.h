/* jobs_ws: WebSocket push (lab 07).  GET /ws upgrades the connection (RFC 6455);
 * from then on every event of the jobs it follows is a text frame (the JSON of the
 * SSE data: line), and a socket in a room (/ws?room=NAME) is a chat line: every
 * message a member sends goes to the room's other members.
 *
 * Contract
 * - jobs_ws_open(c, req, r) answers the request: 426 for another WebSocket
 *   version, 400 for a bad handshake, room or subscribe value, 503 at
 *   --max-streams; else a 101 (hconn_upgrade).  Once the core has written the 101
 *   it calls jobs_ws_start(c, leftover, n) with the bytes that came after the
 *   request, and jobs_ws_input(c, data, n) with every read after that.
 * - Frames go out through the connection's hconn (hconn_raw_write): the same
 *   --stream-buffer bound as every response, so a slow reader is cut off, and the
 *   same writer in the core.  A ping gets its pong; a close frame, or a protocol
 *   error (1002, 1007, 1009 over JOBS_WS_MAX_MESSAGE), gets a close frame back and
 *   then the TCP close once it is written (hconn_raw_end).
 * - Which events a room-less socket gets: every job's (the default, "all"), none,
 *   or one job's: /ws?subscribe=X, or a text message "subscribe X" (notify-client
 *   uses it so N clients do not each get every job's events); a subscription by
 *   message first sends the job's latest event, so a job done before it is not
 *   missed.  jobs_ws_event(c, json, len) sends one event to one socket.
 */
#ifndef WIRELAB_LABS_JOBS_JOBS_WS_H
#define WIRELAB_LABS_JOBS_JOBS_WS_H

#include "labs/jobs/jobs_api.h"
#include "labs/jobs/jobs_conn.h"

void jobs_ws_open(struct jobs_conn *c, const struct hconn_req *req, const struct jobs_route *r);
void jobs_ws_start(struct jobs_conn *c, const uint8_t *leftover, size_t n);
void jobs_ws_input(struct jobs_conn *c, const uint8_t *data, size_t n);
void jobs_ws_event(struct jobs_conn *c, const char *json, size_t len);

#endif
