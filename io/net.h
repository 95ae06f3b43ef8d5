/* net: the few socket chores every lab program repeats, done once.
 *
 * Contract
 * - Functions that can fail return -1 (or NULL) and write a one-line reason into
 *   the caller's err buffer (errlen bytes, always NUL-terminated), like Redis's anet.
 * - net_listen() binds host:port (IPv4 dotted quad or "localhost"; port 0 picks a
 *   free port) with SO_REUSEADDR, listens with the given backlog and returns the
 *   fd, close-on-exec, and non-blocking when nonblock is set.
 * - net_announce() prints "<what> on 127.0.0.1:PORT" for the bound port of fd on
 *   stdout and flushes it: scripts, tests and the bench wait for that line.
 *   `what` is "listening" for the main port.
 * - net_connect() is a blocking TCP connect with TCP_NODELAY, for clients.
 * - net_parse_port() accepts 0..65535 and returns -1 for anything else;
 *   net_parse_host() returns 0 for an address net_listen/net_connect take (IPv4
 *   dotted quad or "localhost") and -1 otherwise, so a bad --host is a usage
 *   error (exit 2) found while parsing arguments, not a runtime failure;
 *   net_parse_hostport() splits "HOST:PORT" into host (hostlen bytes) and port.
 */
#ifndef WIRELAB_IO_NET_H
#define WIRELAB_IO_NET_H

#include <stddef.h>

int net_listen(const char *host, int port, int backlog, int nonblock, char *err, size_t errlen);
int net_bound_port(int fd);
void net_announce(const char *what, int fd);
int net_connect(const char *host, int port, char *err, size_t errlen);
int net_set_nonblock(int fd, int on);
int net_set_nodelay(int fd);
int net_parse_port(const char *s);
int net_parse_host(const char *s);
int net_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
