/* rsrv: the RESP server core: clients, input, the command table.  Contract in rsrv.h. */
#include "io/rsrv/rsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/net.h"
#include "io/rsrv/rsrv_int.h"

#define RSRV_READ_CHUNK ((size_t)16 << 10)

/* ---- the server ------------------------------------------------------------------ */

/* ASCII letters to lower case, without a branch (this runs for every byte of every
 * command name). */
static unsigned char cmd_fold(unsigned char c)
{
    return (unsigned char)(c + ((unsigned)(c - 'A') < 26u) * 32u);
}

/* djb2 over the case-folded name: one pass, no copy. */
static uint32_t cmd_hash(const char *name, size_t n)
{
    uint32_t h = 5381;
    for (size_t i = 0; i < n; i++)
        h = h * 33 + cmd_fold((unsigned char)name[i]);
    return h;
}

static int cmd_table(struct rsrv *s)
{
    size_t slots = 16;
    while (slots < 2 * s->cfg.ncmds)
        slots *= 2;
    if (!(s->cmdtab = calloc(slots, sizeof(*s->cmdtab)))) return -1;
    s->cmdmask = slots - 1;
    for (size_t k = 0; k < s->cfg.ncmds; k++) {
        const struct rsrv_cmd *cmd = &s->cfg.cmds[k];
        uint32_t len = (uint32_t)strlen(cmd->name), h = cmd_hash(cmd->name, len);
        size_t i = h & s->cmdmask;
        while (s->cmdtab[i].cmd)
            i = (i + 1) & s->cmdmask;
        s->cmdtab[i].cmd = cmd;
        s->cmdtab[i].hash = h;
        s->cmdtab[i].len = len;
    }
    return 0;
}

struct rsrv *rsrv_create(struct ev_loop *loop, const struct rsrv_config *cfg)
{
    struct rsrv *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->loop = loop;
    s->cfg = *cfg;
    s->lfd = -1;
    if (!s->cfg.name) s->cfg.name = "rsrv";
    if (!s->cfg.in_limit) s->cfg.in_limit = (size_t)32 << 20;
    if (!s->cfg.out_soft) s->cfg.out_soft = (size_t)1 << 20;
    if (!s->cfg.out_limit) s->cfg.out_limit = (size_t)1 << 30;
    if (!s->cfg.full_error) s->cfg.full_error = "ERR max number of clients reached";
    const struct oblimit *pl = &s->cfg.pubsub_limit;
    s->pubsub_mark = !pl->hard             ? pl->soft
                     : !pl->soft           ? pl->hard
                     : pl->soft < pl->hard ? pl->soft
                                           : pl->hard;
    if (!s->pubsub_mark) s->pubsub_mark = SIZE_MAX;
    if (cmd_table(s) < 0) goto fail;
    if (ev_before_sleep(loop, rsrv_before_sleep, s) < 0) goto fail;
    if (s->cfg.pubsub_limit.soft && !(s->cron = ev_timer_add(loop, 1000, rsrv_cron, s))) {
        ev_before_sleep_remove(loop, rsrv_before_sleep, s);
        goto fail;
    }
    return s;
fail:
    free(s->cmdtab);
    free(s);
    errno = ENOMEM;
    return NULL;
}

static void on_accept(struct ev_loop *loop, int fd, void *arg)
{
    (void)loop;
    rsrv_adopt(arg, fd);
}

int rsrv_listen(struct rsrv *s, const char *host, int port, char *err, size_t errlen)
{
    int fd = net_listen(host, port, 511, 1, err, errlen);
    if (fd < 0) return -1;
    s->acc = acceptor_start(s->loop, fd, s->cfg.name, on_accept, s);
    if (!s->acc) {
        snprintf(err, errlen, "cannot watch the listening socket: %s", strerror(errno));
        close(fd);
        return -1;
    }
    s->lfd = fd;
    return fd;
}

void rsrv_destroy(struct rsrv *s)
{
    if (!s) return;
    while (s->all)
        rsrv_free_client(s->all);
    if (s->replay) rsrv_free_client(s->replay);
    acceptor_stop(s->acc);
    if (s->lfd >= 0) close(s->lfd);
    if (s->cron) ev_timer_cancel(s->loop, s->cron);
    ev_before_sleep_remove(s->loop, rsrv_before_sleep, s);
    free(s->cmdtab);
    free(s->byfd);
    free(s);
}

void rsrv_stats(const struct rsrv *s, struct rsrv_stats *st)
{
    *st = s->st;
    st->clients = s->nclients;
    st->out_total = s->out_total;
    st->deferred = s->deferred;
    st->emfile_pauses = s->acc ? acceptor_emfile_pauses(s->acc) : 0;
}

/* ---- clients ---------------------------------------------------------------------- */

static void client_event(struct ev_loop *loop, int fd, unsigned mask, void *arg);

static struct rsrv_client *client_new(struct rsrv *s, int fd)
{
    struct rsrv_client *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->s = s;
    c->fd = fd;
    c->id = ++s->next_id;
    resp_init(&c->p, &s->cfg.limits);
    resp_out_init(&c->out, s->cfg.out_limit);
    return c;
}

int rsrv_adopt(struct rsrv *s, int fd)
{
    if (s->cfg.max_clients && s->nclients >= s->cfg.max_clients) {
        char line[256];
        int n = snprintf(line, sizeof(line), "-%s\r\n", s->cfg.full_error);
        if (write(fd, line, (size_t)n) < 0) { /* nothing more to tell it */
        }
        s->st.refused_full++;
        close(fd);
        return -1;
    }
    struct rsrv_client *c = fd < EV_MAX_FDS ? client_new(s, fd) : NULL;
    if (!c || net_set_nonblock(fd, 1) < 0) goto fail;
    if ((size_t)fd >= s->nbyfd) {
        size_t n = s->nbyfd ? s->nbyfd : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct rsrv_client **v = realloc(s->byfd, n * sizeof(*v));
        if (!v) goto fail;
        memset(v + s->nbyfd, 0, (n - s->nbyfd) * sizeof(*v));
        s->byfd = v;
        s->nbyfd = n;
    }
    if (s->cfg.on_open && s->cfg.on_open(c) != 0) goto fail;
    c->next = s->all;
    if (s->all) s->all->prev = c;
    s->all = c;
    s->byfd[fd] = c;
    s->nclients++;
    s->st.accepted++;
    rsrv_set_watch(c);
    if (!c->mask) {
        rsrv_close(c, "cannot watch the socket");
        return -1;
    }
    return 0;
fail:
    if (c) {
        resp_free(&c->p);
        free(c);
    }
    close(fd);
    return -1;
}

void rsrv_free_client(struct rsrv_client *c)
{
    struct rsrv *s = c->s;
    if (s->cfg.on_close) s->cfg.on_close(c);
    if (c->fd >= 0) {
        if (c->mask) ev_unwatch(s->loop, c->fd);
        close(c->fd);
        s->byfd[c->fd] = NULL;
    }
    if (!(c->flags & RC_REPLAY)) {
        if (c->prev)
            c->prev->next = c->next;
        else
            s->all = c->next;
        if (c->next) c->next->prev = c->prev;
        s->nclients--;
    }
    if (c->flags & RC_PUBSUB) s->npubsub--;
    s->out_total -= c->acct;
    rsrv_drop_holds(c);
    resp_out_free(&c->out);
    resp_free(&c->p);
    free(c->in);
    free(c);
}

/* EV_READ while input fits and more may come; EV_WRITE while the socket was full. */
void rsrv_set_watch(struct rsrv_client *c)
{
    unsigned m = 0;
    if (c->fd < 0) return;
    if (!(c->flags & (RC_CLOSING | RC_CLOSE_AFTER | RC_EOF)) && c->inlen < c->s->cfg.in_limit)
        m |= EV_READ;
    if ((c->flags & RC_WANT_WRITE) && !(c->flags & RC_CLOSING)) m |= EV_WRITE;
    if (m == c->mask) return;
    if (m == 0) {
        ev_unwatch(c->s->loop, c->fd);
    } else if (ev_watch(c->s->loop, c->fd, m, client_event, c) < 0) {
        m = 0;
        ev_unwatch(c->s->loop, c->fd);
    }
    c->mask = m;
}

void rsrv_close(struct rsrv_client *c, const char *why)
{
    struct rsrv *s = c->s;
    if (c->flags & (RC_CLOSING | RC_REPLAY)) return;
    if (why) {
        char addr[64];
        fprintf(stderr, "%s: closing client id=%llu addr=%s: %s (output %zu bytes pending)\n",
                s->cfg.name, (unsigned long long)c->id, rsrv_addr(c, addr, sizeof(addr)), why,
                rsrv_unsent(c));
    }
    c->flags |= RC_CLOSING;
    rsrv_set_watch(c);
    c->cnext = s->closing;
    s->closing = c;
}

void rsrv_close_after_reply(struct rsrv_client *c)
{
    c->flags |= RC_CLOSE_AFTER;
    rsrv_set_watch(c);
    rsrv_mark_pending(c);
}

int rsrv_runnable(const struct rsrv_client *c)
{
    const struct rsrv *s = c->s;
    return !(c->flags & (RC_PAUSED | RC_CLOSING | RC_CLOSE_AFTER)) &&
           c->out.len - c->sent <= s->cfg.out_soft && c->ndeferred < RSRV_MAX_DEFERRED &&
           !s->deferred_full;
}

/* ---- input ------------------------------------------------------------------------- */

static void dispatch(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);

/* Runs the complete commands in c's input while c may run. */
void rsrv_run_input(struct rsrv_client *c)
{
    struct rsrv *s = c->s;
    while (c->inpos < c->inlen && rsrv_runnable(c)) {
        ssize_t r = resp_parse(&c->p, c->in + c->inpos, c->inlen - c->inpos);
        if (r == -2) {
            if (c->inpos == 0 && c->inlen >= s->cfg.in_limit) {
                resp_add_errorf(&c->out, "ERR Protocol error: request over %zu bytes",
                                s->cfg.in_limit);
                s->st.closed_input_limit++;
                c->inpos = c->inlen;
                rsrv_close_after_reply(c);
            }
            break;
        }
        if (r < 0) { /* Redis answers the error, then closes */
            char addr[64];
            fprintf(stderr, "%s: client id=%llu addr=%s: %s\n", s->cfg.name,
                    (unsigned long long)c->id, rsrv_addr(c, addr, sizeof(addr)), c->p.err);
            resp_add_error(&c->out, c->p.err);
            s->st.protocol_errors++;
            c->inpos = c->inlen;
            rsrv_close_after_reply(c);
            break;
        }
        c->inpos += (size_t)r; /* argv stays valid: the buffer moves only below */
        if (c->p.argc > 0) dispatch(c, c->p.argc, c->p.argv, c->p.argl);
    }
    if (c->inpos == c->inlen) {
        c->inpos = c->inlen = 0;
    } else if (c->inpos > 0) { /* a partial frame: the parser keeps offsets from its start */
        memmove(c->in, c->in + c->inpos, c->inlen - c->inpos);
        c->inlen -= c->inpos;
        c->inpos = 0;
    }
    if (c->inlen && !rsrv_runnable(c))
        c->flags |= RC_STALLED; /* commands wait: resumed when what holds them clears */
    else
        c->flags &= ~RC_STALLED;
    if ((c->flags & RC_EOF) && rsrv_runnable(c)) rsrv_close_after_reply(c); /* nothing more */
    rsrv_set_watch(c);
}

static void client_read(struct rsrv_client *c)
{
    struct rsrv *s = c->s;
    if (c->incap - c->inlen < RSRV_READ_CHUNK && c->incap < s->cfg.in_limit) {
        size_t cap = c->incap ? c->incap * 2 : RSRV_READ_CHUNK;
        while (cap - c->inlen < RSRV_READ_CHUNK && cap < s->cfg.in_limit)
            cap *= 2;
        if (cap > s->cfg.in_limit) cap = s->cfg.in_limit;
        char *p = realloc(c->in, cap);
        if (!p) {
            rsrv_close(c, "out of memory for input");
            return;
        }
        c->in = p;
        c->incap = cap;
    }
    if (c->inlen == c->incap) return; /* full: rsrv_set_watch stops reading */
    ssize_t n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n < 0) {
        rsrv_close(c, NULL);
        return;
    }
    if (n == 0) {
        c->flags |= RC_EOF;
        if (c->flags & RC_PAUSED) {
            rsrv_close(c, NULL); /* a blocked client that left */
            return;
        }
    }
    c->inlen += (size_t)n;
    rsrv_run_input(c);
}

static void client_event(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct rsrv_client *c = arg;
    (void)loop, (void)fd;
    if ((mask & EV_WRITE) && rsrv_out_write(c) < 0) return;
    if (mask & (EV_READ | EV_ERROR)) {
        if (!(c->mask & EV_READ)) { /* an error while not reading: the peer is gone */
            if (!(mask & EV_WRITE)) rsrv_close(c, NULL);
            return;
        }
        client_read(c);
    }
}

/* ---- commands ------------------------------------------------------------------------ */

static const struct rsrv_cmd *lookup(struct rsrv *s, const char *name, size_t n)
{
    if (n > 64) return NULL; /* no command is named that long: do not hash megabytes */
    uint32_t h = cmd_hash(name, n);
    for (size_t i = h & s->cmdmask; s->cmdtab[i].cmd; i = (i + 1) & s->cmdmask) {
        if (s->cmdtab[i].hash != h || s->cmdtab[i].len != n) continue;
        const char *want = s->cmdtab[i].cmd->name; /* lower case, as the table says */
        size_t k = 0;
        while (k < n && cmd_fold((unsigned char)name[k]) == (unsigned char)want[k])
            k++;
        if (k == n) return s->cmdtab[i].cmd;
    }
    return NULL;
}

/* Redis 7's text, CR and LF in the client's bytes turned into spaces. */
static void unknown_command(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    char msg[512], args[300];
    size_t al = 0;
    args[0] = 0;
    for (int i = 1; i < argc && al < 128; i++) {
        int w = snprintf(args + al, sizeof(args) - al, "'%.*s' ",
                         (int)(argl[i] < 128 - al ? argl[i] : 128 - al), argv[i]);
        if (w > 0) al += (size_t)w;
    }
    snprintf(msg, sizeof(msg), "ERR unknown command '%.*s', with args beginning with: %s",
             (int)(argl[0] < 128 ? argl[0] : 128), argv[0], args);
    for (char *p = msg; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
    resp_add_error(&c->out, msg);
}

static void dispatch(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct rsrv *s = c->s;
    const struct rsrv_cmd *cmd = lookup(s, argv[0], argl[0]);
    c->flags |= RC_IN_CMD;
    c->reply_start = c->base + c->out.len;
    if (!cmd && s->cfg.unknown) {
        s->cfg.unknown(c, argc, argv, argl);
    } else if (!cmd) {
        unknown_command(c, argc, argv, argl);
    } else if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity)) {
        resp_add_errorf(&c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
    } else if (s->cfg.allow && s->cfg.allow(c, cmd) != 0) {
        /* refused: allow() replied */
    } else if ((c->flags & RC_PUBSUB) && !(cmd->flags & RSRV_CMD_SUBOK)) {
        resp_add_errorf(&c->out,
                        "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                        "QUIT / RESET are allowed in this context",
                        cmd->name);
    } else {
        cmd->fn(c, argc, argv, argl);
    }
    c->flags &= ~RC_IN_CMD;
    rsrv_after_command(c);
}

void rsrv_exec(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    if (!(c->flags & RC_CLOSING)) dispatch(c, argc, argv, argl);
}

void rsrv_replay(struct rsrv *s, int argc, const char **argv, const size_t *argl)
{
    if (!s->replay) {
        struct rsrv_client *c = client_new(s, -1);
        if (!c) return;
        c->flags = RC_REPLAY;
        if (s->cfg.on_open && s->cfg.on_open(c) != 0) {
            resp_free(&c->p);
            free(c);
            return;
        }
        s->replay = c;
    }
    dispatch(s->replay, argc, argv, argl);
}

void rsrv_pause(struct rsrv_client *c)
{
    c->flags |= RC_PAUSED;
}

void rsrv_resume(struct rsrv_client *c)
{
    if (!(c->flags & RC_PAUSED)) return;
    c->flags &= ~RC_PAUSED;
    if (c->flags & RC_EOF) {
        rsrv_close(c, NULL);
        return;
    }
    rsrv_mark_pending(c);
    rsrv_mark_resume(c);
}

int rsrv_is_paused(const struct rsrv_client *c)
{
    return (c->flags & RC_PAUSED) != 0;
}

void rsrv_set_pubsub(struct rsrv_client *c, int on)
{
    if (!!(c->flags & RC_PUBSUB) == !!on) return;
    if (on) {
        c->flags |= RC_PUBSUB;
        c->s->npubsub++;
    } else {
        c->flags &= ~RC_PUBSUB;
        c->s->npubsub--;
        c->soft_since = 0;
    }
}

void *rsrv_data(const struct rsrv_client *c)
{
    return c->data;
}

void rsrv_set_data(struct rsrv_client *c, void *data)
{
    c->data = data;
}

void *rsrv_app(const struct rsrv_client *c)
{
    return c->s->cfg.app;
}

struct ev_loop *rsrv_loop(const struct rsrv_client *c)
{
    return c->s->loop;
}

uint64_t rsrv_id(const struct rsrv_client *c)
{
    return c->id;
}

int rsrv_is_replay(const struct rsrv_client *c)
{
    return (c->flags & RC_REPLAY) != 0;
}

int rsrv_is_closing(const struct rsrv_client *c)
{
    return (c->flags & RC_CLOSING) != 0;
}

const char *rsrv_addr(const struct rsrv_client *c, char *buf, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    snprintf(buf, n, "%s", c->fd < 0 ? "replay" : "?");
    if (c->fd >= 0 && getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            char ip[INET_ADDRSTRLEN];
            const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
            snprintf(buf, n, "%s:%u", ip, ntohs(in->sin_port));
        } else if (ss.ss_family == AF_UNIX) {
            snprintf(buf, n, "local");
        }
    }
    return buf;
}

/* ---- argument helpers ----------------------------------------------------------------- */

int rsrv_arg_is(const char *a, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(a, word, n) == 0;
}

int rsrv_arg_ll(const char *a, size_t n, long long *v)
{
    if (n == 0 || n > 20) return -1;
    size_t i = 0;
    int neg = 0;
    if (a[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1) return -1;
    }
    if (a[i] == '0' && n > i + 1) return -1; /* no leading zeros, as Redis's string2ll */
    unsigned long long r = 0;
    for (; i < n; i++) {
        if (a[i] < '0' || a[i] > '9') return -1;
        unsigned d = (unsigned)(a[i] - '0');
        if (r > (ULLONG_MAX - d) / 10) return -1;
        r = r * 10 + d;
    }
    if (neg) {
        if (r > (unsigned long long)LLONG_MAX + 1) return -1;
        *v = r == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)r;
    } else {
        if (r > (unsigned long long)LLONG_MAX) return -1;
        *v = (long long)r;
    }
    return 0;
}
