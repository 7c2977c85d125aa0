/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Load generator for the caregate gateway, with its own minimal WebSocket client on libuv
 * (RFC 6455 client side: masked frames out, unmasked in; no extensions, no fragmentation
 * on send). It logs M staff consoles in, opens N patient sockets, and drives messages:
 *
 *   closed loop  (--rate 0): each patient keeps --window messages outstanding and sends the
 *                next one when an ack (= durable commit) comes back;
 *   open loop    (--rate R): R messages per second in total, spread evenly over patients,
 *                whatever the acks do (latency then includes queueing, as it should).
 *
 * It reports durable messages/s (acks), send->staff-delivery latency p50/p99 (the send
 * time travels inside the message text; sender and receivers share CLOCK_MONOTONIC),
 * and with --pid the gateway's CPU use and RSS. --idle N instead opens N patient sockets,
 * completes hello/welcome on each, and reports the gateway's RSS per idle connection.
 *
 * Not a test: it asserts nothing and is not run by ctest. See tests/bench/run.sh and
 * docs/benchmarks.md.
 */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAXBUF (1 << 20)

typedef struct client client;
typedef void (*frame_cb)(client *c, const char *data, size_t len);

struct client {
    uv_tcp_t tcp;
    uv_connect_t conn;
    int idx;
    bool staff, upgraded, http_only, closed;
    char *inbuf;
    size_t inlen;
    frame_cb on_frame;
    void (*on_open)(client *c);
    char *request; /* HTTP request to send once connected */
    /* patient state */
    bool welcomed;
    uint64_t retry_at; /* ns: hello again after "unavailable" (0: none pending) */
    uint64_t sent, acked;
    unsigned outstanding;
    char cookie[512];
};

static struct {
    const char *host;
    int port;
    const char *origin;
    int patients, staff, window, duration, idle;
    double rate;
    const char *email, *password;
    int pid;
    uv_loop_t *loop;
    client *pc, *sc;
    int welcomed, staff_ready, connected_fail;
    uint64_t t_start, t_end; /* ns */
    uint64_t acks, delivered, errors, sent;
    uint64_t *lat;
    size_t nlat, caplat;
    bool measuring, done;
    /* Patients whose hello was shed with "unavailable", in the order they were told: the
     * widget reconnects with backoff, so the load generator says hello again later. */
    int *retry;
    size_t retry_head, retry_tail, retry_cap;
    uint64_t hello_retries;
    uv_timer_t tick;
    double open_credit;
    int rr;
    char cookie[512];
} G;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

static void write_done(uv_write_t *w, int status)
{
    free(w->data);
    free(w);
}

static void raw_write(client *c, const void *data, size_t len)
{
    if (c->closed)
        return;
    uv_write_t *w = xmalloc(sizeof *w);
    char *copy = xmalloc(len);
    memcpy(copy, data, len);
    w->data = copy;
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, write_done) != 0) {
        free(copy);
        free(w);
    }
}

static void ws_send(client *c, const char *text, size_t len)
{
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = 0x81;
    if (len < 126) {
        hdr[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint32_t m = (uint32_t)rand();
    uint8_t mask[4];
    memcpy(mask, &m, 4);
    memcpy(hdr + h, mask, 4);
    h += 4;
    char *buf = xmalloc(h + len);
    memcpy(buf, hdr, h);
    for (size_t i = 0; i < len; i++)
        buf[h + i] = (char)(text[i] ^ mask[i & 3]);
    raw_write(c, buf, h + len);
    free(buf);
}

static void on_close(uv_handle_t *h)
{
}

static void client_close(client *c)
{
    if (c->closed)
        return;
    c->closed = true;
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    client *c = h->data;
    if (!c->inbuf)
        c->inbuf = xmalloc(MAXBUF);
    b->base = c->inbuf + c->inlen;
    b->len = MAXBUF - c->inlen;
}

/* Parses complete frames from inbuf; returns bytes consumed. */
static size_t parse_frames(client *c)
{
    size_t off = 0;
    for (;;) {
        uint8_t *p = (uint8_t *)c->inbuf + off;
        size_t avail = c->inlen - off;
        if (avail < 2)
            break;
        int op = p[0] & 0x0f;
        uint64_t len = p[1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = ((uint64_t)p[2] << 8) | p[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | p[2 + i];
            h = 10;
        }
        if (avail < h + len)
            break;
        if (op == 1 && c->on_frame)
            c->on_frame(c, (char *)p + h, (size_t)len);
        else if (op == 9) { /* ping -> pong */
            uint8_t pong[2 + 4] = {0x8a, 0x80, 0, 0, 0, 0};
            raw_write(c, pong, sizeof pong);
        } else if (op == 8) {
            client_close(c);
            return c->inlen;
        }
        off += h + (size_t)len;
    }
    return off;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    client *c = s->data;
    if (n < 0) {
        if (!G.done && !c->http_only)
            G.errors++;
        client_close(c);
        return;
    }
    c->inlen += (size_t)n;
    if (!c->upgraded) {
        char *end = memmem(c->inbuf, c->inlen, "\r\n\r\n", 4);
        if (!end)
            return;
        size_t hl = (size_t)(end - c->inbuf) + 4;
        if (c->http_only) { /* login response: take the cookie */
            c->inbuf[hl - 1] = '\0';
            char *sc = strcasestr(c->inbuf, "\r\nSet-Cookie: ");
            if (sc) {
                sc += 14;
                size_t l = strcspn(sc, ";\r");
                snprintf(G.cookie, sizeof G.cookie, "%.*s", (int)l, sc);
            }
            if (strncmp(c->inbuf, "HTTP/1.1 200", 12) != 0)
                fprintf(stderr, "login failed: %.40s\n", c->inbuf);
            client_close(c);
            if (c->on_open)
                c->on_open(c);
            return;
        }
        if (strncmp(c->inbuf, "HTTP/1.1 101", 12) != 0) {
            fprintf(stderr, "upgrade refused: %.60s\n", c->inbuf);
            G.connected_fail++;
            client_close(c);
            return;
        }
        c->upgraded = true;
        memmove(c->inbuf, c->inbuf + hl, c->inlen - hl);
        c->inlen -= hl;
        if (c->on_open)
            c->on_open(c);
    }
    size_t used = parse_frames(c);
    if (used && !c->closed) {
        memmove(c->inbuf, c->inbuf + used, c->inlen - used);
        c->inlen -= used;
    }
}

static void connect_cb(uv_connect_t *req, int status)
{
    client *c = req->data;
    if (status < 0) {
        fprintf(stderr, "connect: %s\n", uv_strerror(status));
        G.connected_fail++;
        client_close(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    raw_write(c, c->request, strlen(c->request));
    free(c->request);
    c->request = NULL;
}

static void client_start(client *c, char *request)
{
    struct sockaddr_in addr;
    uv_ip4_addr(G.host, G.port, &addr);
    uv_tcp_init(G.loop, &c->tcp);
    uv_tcp_nodelay(&c->tcp, 1);
    c->tcp.data = c;
    c->conn.data = c;
    c->request = request;
    uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&addr, connect_cb);
}

static char *upgrade_request(const char *path, const char *proto, const char *cookie)
{
    char *r = xmalloc(2048);
    snprintf(r, 2048,
             "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Protocol: %s\r\nOrigin: %s\r\n%s%s%s\r\n",
             path, G.host, G.port, proto, G.origin, cookie ? "Cookie: " : "", cookie ? cookie : "",
             cookie ? "\r\n" : "");
    return r;
}

/* ---- measurement ---- */

static void record_latency(uint64_t ns)
{
    if (G.nlat == G.caplat) {
        G.caplat = G.caplat ? G.caplat * 2 : 65536;
        G.lat = realloc(G.lat, G.caplat * sizeof *G.lat);
        if (!G.lat)
            abort();
    }
    G.lat[G.nlat++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void proc_sample(long *rss_kb, double *cpu_s)
{
    *rss_kb = 0;
    *cpu_s = 0;
    if (G.pid <= 0)
        return;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", G.pid);
    FILE *f = fopen(path, "r");
    if (f) {
        while (fgets(buf, sizeof buf, f))
            if (strncmp(buf, "VmRSS:", 6) == 0)
                *rss_kb = atol(buf + 6);
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/stat", G.pid);
    f = fopen(path, "r");
    if (f) {
        if (fgets(buf, sizeof buf, f)) {
            char *p = strrchr(buf, ')');
            unsigned long ut = 0, st = 0;
            /* fields after ')': state(3) ... utime(14) stime(15) */
            if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
                *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        }
        fclose(f);
    }
}

/* ---- patients and staff ---- */

static void patient_send(client *c)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "{\"type\":\"msg\",\"client_id\":\"b%d-%llu\",\"text\":\"bench %d %llu t%llu\"}",
                     c->idx, (unsigned long long)c->sent, c->idx, (unsigned long long)c->sent,
                     (unsigned long long)now_ns());
    c->sent++;
    c->outstanding++;
    G.sent++;
    ws_send(c, msg, (size_t)n);
}

static const char hello_frame[] = "{\"type\":\"hello\",\"session\":null,\"lang\":\"de\"}";

static void patient_frame(client *c, const char *d, size_t len)
{
    if (!c->welcomed && memmem(d, len, "\"welcome\"", 9)) {
        c->welcomed = true;
        G.welcomed++;
        return;
    }
    if (!c->welcomed && memmem(d, len, "\"unavailable\"", 13) && G.retry_tail < G.retry_cap) {
        c->retry_at = now_ns() + 300000000u + (uint64_t)(rand() % 700) * 1000000u;
        G.retry[G.retry_tail++] = c->idx;
        G.hello_retries++;
        return;
    }
    if (memmem(d, len, "\"ack\"", 5)) {
        c->acked++;
        c->outstanding--;
        if (G.measuring)
            G.acks++;
        /* closed loop: keep the window full during the warm-up too, or a gateway that
         * answers the first burst within the warm-up leaves nothing outstanding */
        if (G.rate <= 0 && !G.done && G.welcomed == G.patients)
            patient_send(c);
    } else if (memmem(d, len, "\"error\"", 7)) {
        G.errors++;
        if (c->outstanding)
            c->outstanding--;
        if (G.errors < 5)
            fprintf(stderr, "patient error: %.*s\n", (int)(len > 200 ? 200 : len), d);
    }
}

static void patient_open(client *c)
{
    ws_send(c, hello_frame, sizeof hello_frame - 1);
}

static void staff_frame(client *c, const char *d, size_t len)
{
    const char *t = memmem(d, len, "bench ", 6);
    if (!t || !memmem(d, len, "\"msg\"", 5))
        return;
    const char *tt = memmem(t, len - (size_t)(t - d), " t", 2);
    if (!tt)
        return;
    uint64_t sent = strtoull(tt + 2, NULL, 10);
    if (G.measuring && c->idx == 0) { /* count deliveries to the first console */
        G.delivered++;
        record_latency(now_ns() - sent);
    }
}

static void staff_open(client *c)
{
    G.staff_ready++;
}

static void login_done(client *c)
{
    for (int i = 0; i < G.staff; i++) {
        client *s = &G.sc[i];
        s->idx = i;
        s->staff = true;
        s->on_frame = staff_frame;
        s->on_open = staff_open;
        client_start(s, upgrade_request("/ws/staff", "caregate.staff.v1", G.cookie));
    }
}

static void start_patients(int n)
{
    for (int i = 0; i < n; i++) {
        client *p = &G.pc[i];
        p->idx = i;
        p->on_frame = patient_frame;
        p->on_open = patient_open;
        client_start(p, upgrade_request("/ws/patient", "caregate.patient.v1", NULL));
    }
}

static int phase; /* 0 connecting, 1 warmup, 2 measuring, 3 done */
static uint64_t phase_t;
static long rss0;
static double cpu0;

static void report(void)
{
    double secs = (double)(G.t_end - G.t_start) / 1e9;
    long rss;
    double cpu;
    proc_sample(&rss, &cpu);
    qsort(G.lat, G.nlat, sizeof *G.lat, cmp_u64);
    double p50 = G.nlat ? (double)G.lat[G.nlat / 2] / 1e6 : 0;
    double p99 = G.nlat ? (double)G.lat[(size_t)((double)G.nlat * 0.99)] / 1e6 : 0;
    double pmax = G.nlat ? (double)G.lat[G.nlat - 1] / 1e6 : 0;
    printf("mode=%s patients=%d staff=%d window=%d rate=%.0f duration=%.1fs\n",
           G.rate > 0 ? "open" : "closed", G.patients, G.staff, G.window, G.rate, secs);
    printf("durable_msgs_per_s=%.0f acks=%llu sent=%llu delivered=%llu errors=%llu\n",
           (double)G.acks / secs, (unsigned long long)G.acks, (unsigned long long)G.sent,
           (unsigned long long)G.delivered, (unsigned long long)G.errors);
    printf("delivery_latency_ms p50=%.2f p99=%.2f max=%.2f (n=%zu)\n", p50, p99, pmax, G.nlat);
    if (G.pid > 0)
        printf("gateway_cpu_pct=%.0f gateway_rss_mb=%.1f\n", 100.0 * (cpu - cpu0) / secs,
               (double)rss / 1024.0);
}

static void tick_cb(uv_timer_t *t)
{
    uint64_t now = now_ns();
    while (G.retry_head < G.retry_tail && G.pc[G.retry[G.retry_head]].retry_at <= now) {
        client *c = &G.pc[G.retry[G.retry_head++]];
        c->retry_at = 0;
        ws_send(c, hello_frame, sizeof hello_frame - 1);
    }
    if (phase == 0) {
        if (G.idle > 0 && G.welcomed + G.connected_fail >= G.idle) {
            long rss;
            double cpu;
            uv_sleep(500);
            proc_sample(&rss, &cpu);
            printf("idle_connections=%d failed=%d hello_retries=%llu gateway_rss_before_mb=%.1f "
                   "after_mb=%.1f per_connection_kb=%.2f\n",
                   G.welcomed, G.connected_fail, (unsigned long long)G.hello_retries, (double)rss0 / 1024.0, (double)rss / 1024.0,
                   G.welcomed ? (double)(rss - rss0) / G.welcomed : 0.0);
            uv_stop(G.loop);
            return;
        }
        if (G.idle == 0 && G.welcomed == G.patients && G.staff_ready == G.staff) {
            phase = 1;
            phase_t = now;
            G.measuring = false;
            if (G.rate <= 0)
                for (int i = 0; i < G.patients; i++)
                    for (int w = 0; w < G.window; w++)
                        patient_send(&G.pc[i]);
        }
        if (G.connected_fail > 0 && G.idle == 0) {
            fprintf(stderr, "connections failed: %d\n", G.connected_fail);
            exit(1);
        }
    }
    if (phase >= 1 && G.rate > 0) { /* open loop: emit this tick's share */
        G.open_credit += G.rate / 1000.0;
        while (G.open_credit >= 1.0) {
            G.open_credit -= 1.0;
            patient_send(&G.pc[G.rr++ % G.patients]);
        }
    }
    if (phase == 1 && now - phase_t > 1000000000u) { /* 1 s warm-up */
        phase = 2;
        G.measuring = true;
        G.t_start = now;
        proc_sample(&rss0, &cpu0);
    }
    if (phase == 2 && now - G.t_start > (uint64_t)G.duration * 1000000000u) {
        G.t_end = now;
        G.measuring = false;
        G.done = true;
        phase = 3;
        report();
        uv_stop(G.loop);
    }
}

int main(int argc, char **argv)
{
    G.host = "127.0.0.1";
    G.port = 8080;
    G.origin = "http://localhost:8080";
    G.patients = 100;
    G.staff = 1;
    G.window = 4;
    G.duration = 10;
    static struct option opts[] = {
        {"port", 1, 0, 'p'},     {"origin", 1, 0, 'o'},   {"patients", 1, 0, 'n'},
        {"staff", 1, 0, 'm'},    {"window", 1, 0, 'w'},   {"rate", 1, 0, 'r'},
        {"duration", 1, 0, 'd'}, {"email", 1, 0, 'e'},    {"password", 1, 0, 'P'},
        {"pid", 1, 0, 'i'},      {"idle", 1, 0, 'I'},     {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': G.port = atoi(optarg); break;
        case 'o': G.origin = optarg; break;
        case 'n': G.patients = atoi(optarg); break;
        case 'm': G.staff = atoi(optarg); break;
        case 'w': G.window = atoi(optarg); break;
        case 'r': G.rate = atof(optarg); break;
        case 'd': G.duration = atoi(optarg); break;
        case 'e': G.email = optarg; break;
        case 'P': G.password = optarg; break;
        case 'i': G.pid = atoi(optarg); break;
        case 'I': G.idle = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: bench_loadgen --port P --origin O [--patients N --staff M "
                            "--email E --password P] [--rate R|--window W] [--duration S] "
                            "[--idle N] [--pid GATEWAY_PID]\n");
            return 2;
        }
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    srand((unsigned)getpid());
    G.loop = uv_default_loop();
    if (G.idle > 0) {
        G.patients = G.idle;
        G.staff = 0;
        long rss;
        proc_sample(&rss, &cpu0);
        rss0 = rss;
    }
    G.pc = calloc((size_t)G.patients, sizeof *G.pc);
    G.retry_cap = (size_t)G.patients * 64; /* each patient may be shed a few dozen times */
    G.retry = calloc(G.retry_cap, sizeof *G.retry);
    G.sc = calloc((size_t)(G.staff > 0 ? G.staff : 1), sizeof *G.sc);
    if (!G.pc || !G.sc || !G.retry)
        abort();
    if (G.staff > 0) {
        if (!G.email || !G.password) {
            fprintf(stderr, "--email and --password are needed for staff consoles\n");
            return 2;
        }
        static client login;
        char body[512];
        int bl = snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", G.email, G.password);
        char *req = xmalloc(1024);
        snprintf(req, 1024,
                 "POST /api/login HTTP/1.1\r\nHost: %s:%d\r\nOrigin: %s\r\nContent-Type: "
                 "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                 G.host, G.port, G.origin, bl, body);
        login.http_only = true;
        login.on_open = login_done;
        client_start(&login, req);
    }
    start_patients(G.patients);
    uv_timer_init(G.loop, &G.tick);
    uv_timer_start(&G.tick, tick_cb, 1, 1);
    uv_run(G.loop, UV_RUN_DEFAULT);
    return 0;
}
