// SPDX-License-Identifier: GPL-2.0
/* L7 request capture from syscall tracepoints only (no kprobes/fentry).
 *
 * Which fds are sockets we care about:
 *   connect() (0 or EINPROGRESS)  -> outbound;  accept()/accept4()  -> inbound;
 *   any read/write/send/recv on an fd we have not seen (unconnected UDP such as DNS; connections
 *   opened before the agent started) -> by the ports when one side's is ephemeral and the other's
 *   not (the ephemeral side is the client), else outbound if first seen on a write, inbound on a
 *   read. The fd's struct socket is found by walking current->files->fdt->fd[fd]->private_data
 *   (CO-RE reads); only AF_INET/AF_INET6 stream and datagram sockets are tracked. Other fds go to
 *   a negative cache (dropped at close), so a file or pipe costs one walk per (process, fd).
 *   The struct sock address is the connection identity: it equals rs_tcp_event.sock_id.
 *
 * Per syscall: the enter program checks (tgid, fd) against the connection map (one hash lookup,
 * so untraced fds pay little) and saves the arguments per thread; the exit program does the work
 * with the real byte count (the user buffer is still intact at sys_exit).
 *
 * Pairing: on the request side (write on outbound, read on inbound) the first bytes are checked
 * for a known protocol; if one matches, a pending request (first <=1024 bytes, iovecs
 * concatenated) is stored under (tgid, fd, stream) without overwriting one that is already
 * pending, so the first unanswered request defines the start. The first response-side syscall
 * with data pairs it and emits one event; later chunks find nothing pending and are ignored. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "l7_events.h"
#include "counters.h"

char LICENSE[] SEC("license") = "GPL";

#define RS_AF_INET 2
#define RS_AF_INET6 10
#define RS_SOCK_STREAM 1
#define RS_SOCK_DGRAM 2
#define RS_EINPROGRESS 115
#define RS_EBADF 9
#define RS_EEXIST 17
#define RS_MAX_IOV 8
/* Go's HTTP server reads one byte ahead in the background while a handler runs; when the next
 * request arrives in time, its first byte comes alone. Up to this many such bytes (the start of
 * an HTTP method) are kept and put in front of the next request-side bytes of the connection. */
#define RS_CARRY_MAX 3

#define RS_BARRIER(v) asm volatile("" : "+r"(v))
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))
/* reads of a slot being appended to (rs_slot_append) before a response gives up waiting */
#define RS_APPEND_WAIT 1024

/* Kernel-only protocol tag of a pending entry: an inbound MySQL packet header (4 bytes) read on
 * its own, waiting for its body (rs_mysql_split_read). Never leaves the kernel. */
#define RS_L7_MYSQL_HEADER 0xF0
#define RS_MYSQL_COM_STMT_CLOSE 0x19

enum rs_io_kind {
	RS_K_BUF = 1,     /* (ptr, len) */
	RS_K_IOV = 2,     /* (struct iovec *, cnt) */
	RS_K_MSG = 3,     /* struct user_msghdr * */
	RS_K_MMSG = 4,    /* struct mmsghdr *, vlen */
};

#define RS_STREAM_SLOTS 4 /* rs_track initialises each slot: keep its list in step */

struct rs_l7_conn {
	__u64 key; /* its own map key (tgid << 32 | fd): the pairing functions take the entry, not the key */
	__u64 sk;
	/* the owner's v2 cgroup, read once when tracking starts: reading it per event (four pointer
	 * hops) was a measurable part of each request's cost, and a process changes cgroup before
	 * it serves traffic (container runtimes move it before exec), not while */
	__u64 cgroup_id;
	__u64 start_ns;
	__u64 bytes_sent;
	__u64 bytes_received;
	__u8 direction;
	__u8 protocol;
	__u8 sock_type;
	__u8 tls; /* bytes on the wire are TLS records: L7 is read at the SSL_* uprobes instead */
	__u8 carry_len; /* request-side bytes kept from a read too short to tell the protocol */
	__u8 carry[RS_CARRY_MAX];
	/* the other end, read from the socket when tracking starts: events carry it, so user space
	 * needs no TCP event to name the destination (connections older than the agent have none) */
	__u8 peer_addr[16];
	__u16 peer_port;
	__u16 peer_family;
	__u16 local_port;
	/* a request without a stream id was stored under the connection's plain key and not yet
	 * paired: if the entry is missing when the connection next looks, the LRU map dropped it */
	__u8 awaiting;
	/* tracked from its connect()/accept(), not found by its I/O: a TCP event of its opening exists */
	__u8 opened;
	/* requests of this connection found dropped by the LRU map: its CONN_CLOSE reports them too */
	__u16 evicted;
	/* its slot in rs_l7_slots, or RS_NO_SLOT: then its requests wait in rs_l7_pending */
	__u32 slot;
	/* stream ids (DNS query ids, Cassandra streams) of requests pending on this connection, so
	 * close() can find them in rs_l7_pending; RS_L7_NO_STREAM = free. More at once go untracked. */
	__u32 pending_streams[RS_STREAM_SLOTS];
};

struct rs_l7_pkey {
	__u64 conn; /* tgid << 32 | fd */
	__u32 stream;
	__u32 _pad;
};

struct rs_l7_req {
	__u64 ts;
	__u64 conn_start;
	__u64 size;
	__u32 len;
	__u8 protocol;
	__u8 direction; /* of the connection: for rs_l7_unanswered when it is never answered */
	__u16 merged; /* later requests appended to this one while it waited (rs_slot_append) */
	__u8 payload[RS_L7_MAX_REQUEST];
};

/* Per-CPU scratch: the request plus slack so that bounded copies at bounded offsets verify. */
struct rs_l7_req_scratch {
	struct rs_l7_req req;
	__u8 slack[RS_L7_MAX_REQUEST];
};

#define RS_EV_DATA 8192
#define RS_EV_RESP_TMP 4096 /* response is first copied here, then moved behind the request */
struct rs_l7_ev_scratch {
	struct rs_l7_event hdr;
	__u8 data[RS_EV_DATA];
};

struct rs_io {
	__u64 ptr;
	__u64 iovcnt; /* 0: ptr is a plain buffer */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} rs_l7_events SEC(".maps");

/* (tgid << 32 | fd) -> tracked socket. LRU: processes that exit never call close(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct rs_l7_conn);
} rs_l7_conns SEC(".maps");

/* (tgid << 32 | fd) seen by a read/write/send/recv and found not to be an INET socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} rs_l7_nonsock SEC(".maps");

/* tgid of every process that had a tracked connection -> how many slots of rs_l7_slots it holds:
 * process exit looks for its pending requests, and walks the slots only when it holds some. (An
 * entry this LRU map drops takes its count along: that process's slots are then taken back only
 * as its connections age out of rs_l7_conns.) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __s64);
} rs_l7_procs SEC(".maps");

/* One pending request per (tgid, fd, stream): requests with a stream id (DNS, Cassandra), and
 * those of connections that found no free slot in rs_l7_slots. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct rs_l7_pkey);
	__type(value, struct rs_l7_req);
} rs_l7_pending SEC(".maps");

/* The request awaiting its response on one connection, for protocols without stream ids (all but
 * DNS and Cassandra: one request at a time per connection). A connection takes a slot when it is
 * tracked and gives it back when it ends, so no other connection ever writes into it. Storing and
 * pairing a request here is plain memory and one compare-and-swap, where the LRU map took locks
 * (with interrupts off, which a paravirtualised guest pays dearly for), kept LRU lists and copied
 * the whole 1 KiB value each time: the slots took ~13% off the BPF time per request
 * (bench/agent-bpf-ab.ts). A slot
 * whose owner left rs_l7_conns without a close() we saw (aged out) is taken back by the next
 * connection that finds it. */
#define RS_L7_SLOTS 8192 /* a power of two */
#define RS_NO_SLOT 0xffffffffu
#define RS_SLOT_PROBES 4  /* slots tried for a new connection before it falls back to rs_l7_pending */

struct rs_l7_slot {
	__u64 conn;       /* owner: tgid << 32 | fd; 0 = free */
	__u64 conn_start; /* owner's start_ns */
	__u32 full;       /* 1 while req awaits its response; whoever turns it to 0 owns the request */
	__u32 _pad;
	struct rs_l7_req req;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RS_L7_SLOTS);
	__type(key, __u32);
	__type(value, struct rs_l7_slot);
} rs_l7_slots SEC(".maps");

/* where the next search for a free slot starts */
__u32 rs_slot_hint = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rs_l7_req_scratch);
} rs_l7_req_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rs_l7_ev_scratch);
} rs_l7_ev_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RS_L7_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rs_l7_counters SEC(".maps");

/* ---- TLS (uprobes on SSL_read/SSL_write, see the TLS section at the end) ---- */

/* An SSL_* call in progress on this thread: pid_tgid -> call. */
struct rs_tls_call {
	__u64 ssl;
	__u64 buf;
	__u64 len_ptr; /* _ex variants: size_t * that receives the byte count; 0 otherwise */
	__s64 fd;      /* socket the library did I/O on during this call; -1 while unknown */
	__s64 last_read_fd; /* the socket this thread last read ciphertext from (memory BIOs; see rs_tls_exit) */
	__u8 is_write;
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct rs_tls_call);
} rs_tls_calls SEC(".maps");

/* Entries in rs_tls_calls, i.e. SSL_* calls between their entry and return probes, all threads:
 * while there are none (no TLS traffic), a read or write need not look for its thread in the map.
 * A call whose return never fires (its thread killed inside SSL_read) leaves this above zero, and
 * the lookup then runs on every read and write, as it would without the count. */
__u64 rs_tls_inflight = 0;

struct rs_tls_key {
	__u64 tgid;
	__u64 ssl;
};

/* (tgid, SSL *) -> the connection it was last seen on (fd + generation) */
struct rs_tls_binding {
	__u64 fd;
	__u64 conn_start;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rs_tls_key);
	__type(value, struct rs_tls_binding);
} rs_tls_bindings SEC(".maps");

/* pid_tgid -> fd of the last read on a tracked socket whose bytes matched no protocol (possibly
 * ciphertext). Libraries with memory BIOs (Node.js) call SSL_read right after such a read. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} rs_tls_last_read SEC(".maps");

/* rustls (see "TLS: plaintext at rustls" below) */
struct rs_rustls_write {
	__u64 buf;    /* the plaintext, or (write_vectored) its iovec array */
	__u64 len;
	__u64 iovcnt; /* 0 for write */
};

/* pid_tgid -> plaintext written into rustls, waiting for the thread's next socket write */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct rs_rustls_write);
} rs_rustls_writes SEC(".maps");

/* Entries in rs_rustls_writes: while there are none, a socket write need not look its thread up. */
__u64 rs_rustls_unsent = 0;

static __always_inline void rs_count(__u32 idx)
{
	rs_inc(&rs_l7_counters, idx);
}

/* Loss by protocol (layout in l7_events.h): what never got a response, what the ring lost. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RS_L7_UNANSWERED_REASONS * RS_L7_DIRECTIONS * RS_L7_PROTOCOL_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} rs_l7_unanswered SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RS_L7_EVENT_KINDS * RS_L7_PROTOCOL_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} rs_l7_ringbuf_lost SEC(".maps");

static __always_inline void rs_count_unanswered_n(__u32 reason, __u8 direction, __u8 protocol, __u64 n)
{
	rs_add(&rs_l7_unanswered, (reason * RS_L7_DIRECTIONS + (direction % RS_L7_DIRECTIONS)) * RS_L7_PROTOCOL_SLOTS +
				     (protocol % RS_L7_PROTOCOL_SLOTS), n);
}

static __always_inline void rs_count_unanswered(__u32 reason, __u8 direction, __u8 protocol)
{
	rs_count_unanswered_n(reason, direction, protocol, 1);
}

/* Same trick as tcp.bpf.c: no wakeup until much is waiting; user space drains on a 10 ms timer. */
#define RS_WAKEUP_BYTES (256 * 1024)

/* Global (noinline) so the verifier checks it once: inlined into every rs_output copy, the
 * extra branch made rs_exit_write's verification exceed the complexity limit. */
__attribute__((noinline)) int rs_count_lost(__u64 kind, __u64 protocol)
{
	rs_inc(&rs_l7_ringbuf_lost, (kind % RS_L7_EVENT_KINDS) * RS_L7_PROTOCOL_SLOTS + (protocol % RS_L7_PROTOCOL_SLOTS));
	return 0;
}

static __always_inline void rs_output(struct rs_l7_ev_scratch *ev, __u64 size)
{
	RS_BARRIER(size);
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	if (size < sizeof(struct rs_l7_event))
		size = sizeof(struct rs_l7_event);
	__u64 waiting = bpf_ringbuf_query(&rs_l7_events, BPF_RB_AVAIL_DATA);
	if (bpf_ringbuf_output(&rs_l7_events, ev, size,
			       waiting >= RS_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP) != 0)
	{
		rs_count(RS_L7_CNT_RINGBUF_DROPPED);
		rs_count_lost(ev->hdr.kind, ev->hdr.protocol);
	}
}

/* Copies up to cap (a power of two) bytes of the first `total` bytes of a buffer or iovec
 * array into dst, which must have room for 2 * cap bytes. Returns the bytes copied. */
static __always_inline __u64 rs_copy_user(__u8 *dst, const __u64 cap, const struct rs_io *io, __u64 total)
{
	if (io->iovcnt == 0) {
		__u64 n = total;
		RS_BARRIER(n);
		if (n > cap)
			n = cap;
		if (bpf_probe_read_user(dst, n, (const void *)io->ptr) != 0)
			return 0;
		return n;
	}
	__u64 off = 0;
	__u64 cnt = io->iovcnt;
	for (int i = 0; i < RS_MAX_IOV; i++) {
		if (i >= cnt || off >= cap || total == 0)
			break;
		struct iovec iov;
		if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)(io->ptr + i * sizeof(struct iovec))) != 0)
			break;
		__u64 n = (__u64)iov.iov_len;
		if (n > total)
			n = total;
		if (n > cap - off)
			n = cap - off;
		__u64 o = off;
		RS_BARRIER(o);
		o &= cap - 1;
		RS_BARRIER(n);
		if (n > cap)
			n = cap;
		if (n > 0 && bpf_probe_read_user(dst + o, n, iov.iov_base) != 0)
			break;
		off += n;
		total -= n;
	}
	return off;
}

/* HTTP/2 and broker chunks are copied iovec by iovec in a bpf_loop callback: Node's http2 writes
 * one iovec per frame header and per payload, so a writev carrying a few streams has dozens of
 * them, and every frame must be seen to keep the HPACK tables in step. An unrolled loop that long
 * takes the verifier seconds; a callback is verified once. */
#define RS_MAX_CHUNK_IOV 256
/* Chunk events one syscall may become (RS_MAX_PIECES * RS_L7_MAX_CHUNK bytes shipped at most). */
#define RS_MAX_PIECES 16

struct rs_iov_walk {
	__u64 iov;   /* user address of the iovec array */
	__u64 cnt;
	__u64 total; /* bytes of the syscall not yet copied */
	__u64 off;   /* bytes copied so far */
	__u64 skip;  /* bytes at the start of the syscall not to copy (earlier pieces) */
};

static struct rs_l7_ev_scratch *rs_ev(void);

static long rs_iov_step(__u64 i, struct rs_iov_walk *w)
{
	if (i >= w->cnt || w->off >= RS_L7_MAX_CHUNK || w->total == 0)
		return 1;
	struct iovec iov;
	if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)(w->iov + i * sizeof(struct iovec))) != 0)
		return 1;
	__u64 n = (__u64)iov.iov_len;
	if (n <= w->skip) {
		w->skip -= n;
		return 0;
	}
	__u64 base = (__u64)(unsigned long)iov.iov_base + w->skip;
	n -= w->skip;
	w->skip = 0;
	if (n > w->total)
		n = w->total;
	if (n > RS_L7_MAX_CHUNK - w->off)
		n = RS_L7_MAX_CHUNK - w->off;
	struct rs_l7_ev_scratch *ev = rs_ev();
	if (!ev)
		return 1;
	__u64 o = w->off;
	RS_BARRIER(o);
	o &= RS_L7_MAX_CHUNK - 1;
	RS_BARRIER(n);
	if (n > RS_L7_MAX_CHUNK)
		n = RS_L7_MAX_CHUNK;
	if (n > 0 && bpf_probe_read_user(ev->data + o, n, (const void *)base) != 0)
		return 1;
	w->off += n;
	w->total -= n;
	return 0;
}

/* ---------------- socket discovery ---------------- */

static __always_inline struct sock *rs_fd_sock(__u32 fd, __u16 *family, __u16 *type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(task, files);
	if (!files)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	if (!fdt)
		return NULL;
	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) != 0 || !f)
		return NULL;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	if (!sock || BPF_CORE_READ(sock, file) != f) /* private_data of a socket file points back */
		return NULL;
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	*family = BPF_CORE_READ(sk, __sk_common.skc_family);
	*type = (__u16)BPF_CORE_READ(sock, type);
	return sk;
}

/* Drops the request pending on (tgid, fd) under `stream` (RS_L7_NO_STREAM for most protocols),
 * counting it as unanswered for `reason`. True if there was one. */
static __always_inline bool rs_evict_stream(__u64 ck, __u32 stream, __u32 reason)
{
	struct rs_l7_pkey pk = { .conn = ck, .stream = stream };
	struct rs_l7_req *req = bpf_map_lookup_elem(&rs_l7_pending, &pk);
	if (!req)
		return false;
	__u8 protocol = req->protocol, direction = req->direction;
	if (bpf_map_delete_elem(&rs_l7_pending, &pk) != 0)
		return false;
	rs_count(RS_L7_CNT_REQUEST_EVICTED);
	rs_count_unanswered(reason, direction, protocol);
	return true;
}

/* The connection's own slot; NULL when it has none (its requests wait in rs_l7_pending). */
static __always_inline struct rs_l7_slot *rs_slot(const struct rs_l7_conn *c)
{
	__u32 idx = c->slot;
	if (idx >= RS_L7_SLOTS)
		return NULL;
	struct rs_l7_slot *sl = bpf_map_lookup_elem(&rs_l7_slots, &idx);
	if (!sl || sl->conn != c->key || sl->conn_start != c->start_ns)
		return NULL;
	return sl;
}

/* Claims the request pending under pk (in sl when given): true for exactly one caller. */
static __always_inline bool rs_pending_take(struct rs_l7_slot *sl, struct rs_l7_pkey *pk)
{
	if (sl)
		return __sync_val_compare_and_swap(&sl->full, 1, 0) == 1;
	return bpf_map_delete_elem(&rs_l7_pending, pk) == 0;
}

/* Takes the request pending in the slot, if any, counting it unanswered for `reason`, with the
 * requests appended to it. Returns how many requests that was (0: none pending). */
static __always_inline __u32 rs_slot_evict(struct rs_l7_slot *sl, __u32 reason)
{
	__u8 protocol = sl->req.protocol, direction = sl->req.direction;
	if (!rs_pending_take(sl, NULL))
		return 0;
	__u32 n = 1 + (__u32)sl->req.merged; /* appends end when the slot is taken: this is final */
	rs_count(RS_L7_CNT_REQUEST_EVICTED);
	rs_count_unanswered_n(reason, direction, protocol, n);
	return n;
}

/* Drops the connection's pending request without a stream id (c may be NULL: an untracked fd's
 * entry in rs_l7_pending), counting it unanswered for `reason`. Returns how many requests that
 * was (0: none pending). */
static __always_inline __u32 rs_evict_pending(struct rs_l7_conn *c, __u64 ck, __u32 reason)
{
	struct rs_l7_slot *sl = c ? rs_slot(c) : NULL;
	if (!sl)
		return rs_evict_stream(ck, RS_L7_NO_STREAM, reason) ? 1 : 0;
	return rs_slot_evict(sl, reason);
}

/* One slot more (+1) or fewer (-1) held by the process of connection key ck. */
static __always_inline void rs_count_slots(__u64 ck, __s64 delta)
{
	__u32 tgid = ck >> 32;
	__s64 *held = bpf_map_lookup_elem(&rs_l7_procs, &tgid);
	if (held)
		__sync_fetch_and_add(held, delta);
}

/* A new connection's slot: the first free one of RS_SLOT_PROBES from a moving start, or one whose
 * owner is no longer tracked; RS_NO_SLOT when all are taken. */
static __always_inline __u32 rs_take_slot(__u64 ck, __u64 start)
{
	__u32 first = __sync_fetch_and_add(&rs_slot_hint, 1);
	for (int i = 0; i < RS_SLOT_PROBES; i++) {
		__u32 idx = (first + i) & (RS_L7_SLOTS - 1);
		struct rs_l7_slot *sl = bpf_map_lookup_elem(&rs_l7_slots, &idx);
		if (!sl)
			break;
		__u64 owner = sl->conn;
		if (owner != 0) {
			struct rs_l7_conn *o = bpf_map_lookup_elem(&rs_l7_conns, &owner);
			if (o && o->start_ns == sl->conn_start && o->slot == idx)
				continue; /* in use */
		}
		if (__sync_val_compare_and_swap(&sl->conn, owner, ck) != owner)
			continue; /* another CPU took it first */
		rs_count_slots(ck, 1);
		if (owner != 0)
			rs_count_slots(owner, -1);
		if (owner != 0) /* its owner aged out of rs_l7_conns, unclosed: a request left is unanswered */
			rs_slot_evict(sl, RS_L7_UNANSWERED_EVICTED);
		sl->conn_start = start;
		return idx;
	}
	return RS_NO_SLOT;
}

/* Gives the connection's slot back (its request, if any, already taken). */
static __always_inline void rs_release_slot(struct rs_l7_conn *c)
{
	struct rs_l7_slot *sl = rs_slot(c);
	if (sl) {
		sl->full = 0;
		if (__sync_val_compare_and_swap(&sl->conn, c->key, 0) == c->key)
			rs_count_slots(c->key, -1);
	}
	c->slot = RS_NO_SLOT;
}

/* Stores the request in req (per-CPU scratch) in the connection's slot: 0, or -RS_EEXIST while
 * one is pending there. Only its `len` payload bytes are copied. */
static __always_inline long rs_slot_put(struct rs_l7_slot *sl, const struct rs_l7_req *req)
{
	if (sl->full)
		return -RS_EEXIST;
	sl->req.ts = req->ts;
	sl->req.conn_start = req->conn_start;
	sl->req.size = req->size;
	sl->req.len = req->len;
	sl->req.protocol = req->protocol;
	sl->req.direction = req->direction;
	sl->req.merged = 0;
	__u64 n = req->len;
	RS_BARRIER(n);
	if (n > RS_L7_MAX_REQUEST)
		n = RS_L7_MAX_REQUEST;
	if (n > 0 && bpf_probe_read_kernel(sl->req.payload, n, req->payload) != 0)
		return -1;
	/* published last: a reader that sees full = 1 sees the request (the swap is a full barrier) */
	return __sync_val_compare_and_swap(&sl->full, 0, 1) == 0 ? 0 : -RS_EEXIST;
}

/* dst = head[0, head_len) followed by tail[0, tail_len), cut at RS_L7_MAX_REQUEST; joined in tmp
 * (the event scratch, free until an event is built), as dst may be head or tail itself. Returns
 * the joined length; 0 when a copy failed. */
static __always_inline __u64 rs_join(__u8 *dst, const void *head, __u64 head_len, const void *tail, __u64 tail_len, __u8 *tmp)
{
	RS_BARRIER(head_len);
	head_len &= RS_L7_MAX_REQUEST - 1;
	RS_BARRIER(tail_len);
	if (tail_len > RS_L7_MAX_REQUEST)
		tail_len = RS_L7_MAX_REQUEST;
	if (bpf_probe_read_kernel(tmp, head_len, head) != 0 ||
	    (tail_len > 0 && bpf_probe_read_kernel(tmp + head_len, tail_len, tail) != 0))
		return 0;
	__u64 total = head_len + tail_len;
	RS_BARRIER(total);
	if (total > RS_L7_MAX_REQUEST)
		total = RS_L7_MAX_REQUEST;
	if (bpf_probe_read_kernel(dst, total, tmp) != 0)
		return 0;
	return total;
}

/* Redis clients that write each command as it is issued (ioredis, and any client sharing one
 * connection between callers) send the next command while the first still waits for its reply.
 * Such a command is appended to the pending request, as if both had been written at once: user
 * space already splits a write of several commands and pairs each with its reply in the response
 * bytes (splitRedisPipeline). The slot is held in state 2 while the bytes are added, so no reader
 * claims a request half-appended. Only while every byte so far was kept (the prefix holds whole
 * commands) and room is left; the request then stands for all its bytes. False when the
 * request could not be appended: it is counted as before (REQUEST_OVERLAP). */
static __always_inline bool rs_slot_append(struct rs_l7_slot *sl, const struct rs_l7_req *req)
{
	if (__sync_val_compare_and_swap(&sl->full, 1, 2) != 1)
		return false;
	bool appended = false;
	struct rs_l7_ev_scratch *tmp = rs_ev(); /* free until an event is built */
	__u64 have = sl->req.len;
	if (tmp && sl->req.conn_start == req->conn_start && sl->req.protocol == req->protocol &&
	    have == sl->req.size && have > 0 && have < RS_L7_MAX_REQUEST && sl->req.merged < 0xffff) {
		__u64 total = rs_join(sl->req.payload, sl->req.payload, have, req->payload, req->len, tmp->data);
		if (total > 0) {
			sl->req.len = total;
			sl->req.size += req->size;
			sl->req.merged++;
			appended = true;
		}
	}
	__sync_val_compare_and_swap(&sl->full, 2, 1); /* a full barrier: the bytes before the state */
	return appended;
}

/* A request the connection stored (c->awaiting, or a stream slot) is no longer in the pending map:
 * the LRU map dropped it to make room, so it is counted here, where that is found out. */
static __always_inline void rs_count_evicted(struct rs_l7_conn *c)
{
	rs_count(RS_L7_CNT_REQUEST_EVICTED);
	rs_count_unanswered(RS_L7_UNANSWERED_EVICTED, c->direction, c->protocol);
	if (c->evicted < 0xffff)
		c->evicted++;
}

/* Linux's default net.ipv4.ip_local_port_range: ports the kernel picks for a client's socket. */
#define RS_EPHEMERAL_FIRST 32768
#define RS_EPHEMERAL_LAST 60999

static __always_inline bool rs_ephemeral(__u16 port)
{
	return port >= RS_EPHEMERAL_FIRST && port <= RS_EPHEMERAL_LAST;
}

/* Notes a stream id pending on the connection in a free slot (none free: it goes untracked). */
static __always_inline void rs_remember_stream(struct rs_l7_conn *c, __u32 stream)
{
	for (int i = 0; i < RS_STREAM_SLOTS; i++) {
		if (c->pending_streams[i] == RS_L7_NO_STREAM) {
			c->pending_streams[i] = stream;
			return;
		}
	}
}

/* Frees the slot noting `stream`; true if there was one. */
static __always_inline bool rs_forget_stream(struct rs_l7_conn *c, __u32 stream)
{
	for (int i = 0; i < RS_STREAM_SLOTS; i++) {
		if (c->pending_streams[i] == stream) {
			c->pending_streams[i] = RS_L7_NO_STREAM;
			return true;
		}
	}
	return false;
}

/* Starts tracking (tgid, fd) if it is an INET stream/datagram socket; 1 if it now is.
 * discovered: found by its I/O, not at connect/accept; `direction` is then only a guess.
 * Not inlined: its 80-byte entry would otherwise sit in the sys_exit frame, at the bottom of the
 * deepest call chain (the kernel caps the chain at 512 bytes of stack). */
__attribute__((noinline)) int rs_track(__u64 ck, __u64 fd, __u64 direction, __u64 discovered)
{
	__u16 family = 0, type = 0;
	struct sock *sk = rs_fd_sock((__u32)fd, &family, &type);
	if (!sk || (family != RS_AF_INET && family != RS_AF_INET6) ||
	    (type != RS_SOCK_STREAM && type != RS_SOCK_DGRAM)) {
		if (discovered) {
			__u8 one = 1;
			bpf_map_update_elem(&rs_l7_nonsock, &ck, &one, BPF_ANY);
		}
		return 0;
	}
	struct rs_l7_conn c = {
		.slot = RS_NO_SLOT,
		.key = ck,
		.sk = (__u64)(unsigned long)sk,
		.cgroup_id = bpf_get_current_cgroup_id(),
		.start_ns = bpf_ktime_get_ns(),
		.direction = (__u8)direction,
		.sock_type = (__u8)type,
		.opened = !discovered,
		.pending_streams = { RS_L7_NO_STREAM, RS_L7_NO_STREAM, RS_L7_NO_STREAM, RS_L7_NO_STREAM },
	};
	c.peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* Found by its I/O (older than the agent, or unconnected UDP): the side whose port is in the
	 * kernel's default ephemeral range is the client. The first syscall's direction is the guess
	 * only when the ports do not tell (both or neither ephemeral, or not connected). */
	__u16 local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	c.local_port = local_port;
	bool local_ephemeral = rs_ephemeral(local_port), peer_ephemeral = rs_ephemeral(c.peer_port);
	if (discovered && c.peer_port != 0 && local_ephemeral != peer_ephemeral)
		c.direction = local_ephemeral ? RS_L7_DIR_OUTBOUND : RS_L7_DIR_INBOUND;
	if (c.peer_port != 0) {
		c.peer_family = family;
		/* bpf_core_read with explicit sizes: BPF_CORE_READ_INTO would copy sizeof(*peer_addr) = 1 byte */
		if (family == RS_AF_INET)
			bpf_core_read(c.peer_addr, 4, &sk->__sk_common.skc_daddr);
		else
			bpf_core_read(c.peer_addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	/* the fd reused without a close() we saw: the earlier connection's request was never answered */
	struct rs_l7_conn *old = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	rs_evict_pending(old, ck, RS_L7_UNANSWERED_FD_REUSED);
	if (old)
		rs_release_slot(old);
	__u32 tgid = ck >> 32;
	if (!bpf_map_lookup_elem(&rs_l7_procs, &tgid)) {
		__s64 none = 0;
		bpf_map_update_elem(&rs_l7_procs, &tgid, &none, BPF_NOEXIST);
	}
	c.slot = rs_take_slot(ck, c.start_ns);
	if (bpf_map_update_elem(&rs_l7_conns, &ck, &c, BPF_ANY) != 0) {
		rs_count(RS_L7_CNT_CONN_MAP_FULL);
		rs_release_slot(&c);
		return 0;
	}
	return 1;
}

/* ---------------- protocol detection (user space re-checks everything) ---------------- */

/* p starts with the first n (<= 8) bytes of the literal s. Written out so clang folds s[i]. */
#define RS_PC(i) (n <= (i) || p[i] == (__u8)s[i])
static __always_inline bool rs_prefix(const __u8 *p, __u64 len, const char *s, const int n)
{
	if (len < n)
		return false;
	return RS_PC(0) && RS_PC(1) && RS_PC(2) && RS_PC(3) && RS_PC(4) && RS_PC(5) && RS_PC(6) && RS_PC(7);
}

static __always_inline bool rs_digit(__u8 c) { return c >= '0' && c <= '9'; }

static __always_inline __u32 rs_be32(const __u8 *p) { return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3]; }
static __always_inline __u32 rs_le32(const __u8 *p) { return ((__u32)p[3] << 24) | ((__u32)p[2] << 16) | ((__u32)p[1] << 8) | p[0]; }
static __always_inline __u16 rs_be16(const __u8 *p) { return ((__u16)p[0] << 8) | p[1]; }

/* Byte at a variable index below len (len <= RS_L7_MAX_REQUEST); p has 2 * MAX room. */
static __always_inline __u8 rs_at(const __u8 *p, __u64 i)
{
	RS_BARRIER(i);
	i &= 2 * RS_L7_MAX_REQUEST - 1;
	return p[i];
}

/* The whole write was copied and it ends with CRLF. */
static __always_inline bool rs_ends_crlf(const __u8 *p, __u64 len, __u64 size)
{
	if (size != len || len < 2)
		return false;
	return rs_at(p, len - 2) == '\r' && rs_at(p, len - 1) == '\n';
}

static __always_inline bool rs_is_http(const __u8 *p, __u64 len)
{
	return rs_prefix(p, len, "GET ", 4) || rs_prefix(p, len, "POST ", 5) || rs_prefix(p, len, "PUT ", 4) ||
	       rs_prefix(p, len, "HEAD ", 5) || rs_prefix(p, len, "DELETE ", 7) || rs_prefix(p, len, "PATCH ", 6) ||
	       rs_prefix(p, len, "OPTIONS ", 8) || rs_prefix(p, len, "CONNECT ", 8) || rs_prefix(p, len, "TRACE ", 6);
}

static __always_inline bool rs_is_postgres(const __u8 *p, __u64 len, __u64 size)
{
	if (len < 5)
		return false;
	if ((p[0] == 'Q' || p[0] == 'C') && (__u64)rs_be32(p + 1) + 1 == size)
		return true;
	/* extended protocol: Parse/Bind/Execute... terminated by Sync 'S' 00 00 00 04 */
	if ((p[0] == 'P' || p[0] == 'B' || p[0] == 'E' || p[0] == 'D') && size == len && len >= 10) {
		return rs_at(p, len - 5) == 'S' && rs_at(p, len - 4) == 0 && rs_at(p, len - 3) == 0 &&
		       rs_at(p, len - 2) == 0 && rs_at(p, len - 1) == 4;
	}
	return false;
}

static __always_inline bool rs_is_redis(const __u8 *p, __u64 len)
{
	/* *<1-2 digits>\r\n$<1-2 digits>\r\n<letter> */
	if (len < 11 || p[0] != '*' || !rs_digit(p[1]))
		return false;
	int i = 2;
	if (rs_digit(p[2]))
		i = 3;
	if (rs_at(p, i) != '\r' || rs_at(p, i + 1) != '\n' || rs_at(p, i + 2) != '$' || !rs_digit(rs_at(p, i + 3)))
		return false;
	i += 4;
	if (rs_digit(rs_at(p, i)))
		i++;
	if (rs_at(p, i) != '\r' || rs_at(p, i + 1) != '\n')
		return false;
	__u8 c = rs_at(p, i + 2) | 0x20;
	return c >= 'a' && c <= 'z';
}

static __always_inline bool rs_is_memcached(const __u8 *p, __u64 len, __u64 size)
{
	if (len < 9)
		return false;
	/* A storage command whose data block is longer than the copied prefix (memcaslap's 1 KiB
	 * values): its end cannot be seen to be CRLF; the command verb is enough, user space checks
	 * that the command line is complete. */
	if (size > len)
		return rs_prefix(p, len, "set ", 4) || rs_prefix(p, len, "add ", 4) || rs_prefix(p, len, "cas ", 4) ||
		       rs_prefix(p, len, "append ", 7) || rs_prefix(p, len, "prepend ", 8) || rs_prefix(p, len, "replace ", 8);
	if (!rs_ends_crlf(p, len, size))
		return false;
	return rs_prefix(p, len, "set ", 4) || rs_prefix(p, len, "add ", 4) || rs_prefix(p, len, "cas ", 4) ||
	       rs_prefix(p, len, "get ", 4) || rs_prefix(p, len, "gets ", 5) || rs_prefix(p, len, "gat ", 4) ||
	       rs_prefix(p, len, "gats ", 5) || rs_prefix(p, len, "incr ", 5) || rs_prefix(p, len, "decr ", 5) ||
	       rs_prefix(p, len, "touch ", 6) || rs_prefix(p, len, "delete ", 7) || rs_prefix(p, len, "append ", 7) ||
	       rs_prefix(p, len, "prepend ", 8) || rs_prefix(p, len, "replace ", 8);
}

static __always_inline bool rs_is_mysql(const __u8 *p, __u64 len, __u64 size)
{
	if (len < 5)
		return false;
	__u32 plen = p[0] | ((__u32)p[1] << 8) | ((__u32)p[2] << 16);
	if ((__u64)plen + 4 != size || p[3] != 0)
		return false;
	return p[4] == 0x03 || p[4] == 0x16 || p[4] == 0x17 || p[4] == 0x19;
}

static __always_inline bool rs_is_mongo(const __u8 *p, __u64 len, __u64 size)
{
	if (len < 16 || size < 16)
		return false;
	if ((__u64)rs_le32(p) < size || rs_le32(p + 8) != 0)
		return false;
	__u32 op = rs_le32(p + 12);
	return op == 2013 || op == 2012 || op == 2004;
}

static __always_inline bool rs_is_amqp_method(const __u8 *p, __u64 len, __u16 class_id, __u16 method_id)
{
	if (len < 12 || p[0] != 1)
		return false;
	__u64 fsize = rs_be32(p + 3);
	if (7 + fsize >= len || rs_at(p, 7 + fsize) != 0xCE)
		return false;
	return rs_be16(p + 7) == class_id && rs_be16(p + 9) == method_id;
}

/* "AMQP" 0 0 9 1: the first bytes an AMQP 0-9-1 client writes */
static __always_inline bool rs_is_amqp_header(const __u8 *p, __u64 len)
{
	return rs_prefix(p, len, "AMQP", 4) && len >= 8 && p[4] == 0 && p[5] == 0 && p[6] == 9 && p[7] == 1;
}

static __always_inline bool rs_is_nats_pub(const __u8 *p, __u64 len, __u64 size)
{
	if (len < 7 || !rs_ends_crlf(p, len, size))
		return false;
	return rs_prefix(p, len, "PUB ", 4) || rs_prefix(p, len, "PUB\t", 4) || rs_prefix(p, len, "HPUB ", 5) ||
	       rs_prefix(p, len, "HPUB\t", 5);
}

static __always_inline bool rs_is_cassandra(const __u8 *p, __u64 len, __u64 size)
{
	if (len < 9 || (p[0] != 3 && p[0] != 4 && p[0] != 5))
		return false;
	if (p[4] != 0x07 && p[4] != 0x0A && p[4] != 0x0D)
		return false;
	return (__u64)rs_be32(p + 5) + 9 == size;
}

static __always_inline bool rs_is_http2_preface(const __u8 *p, __u64 len)
{
	return rs_prefix(p, len, "PRI * HT", 8) && rs_prefix(p + 8, len - 8, "TP/2.0\r\n", 8) &&
	       rs_prefix(p + 16, len - 16, "\r\nSM\r\n\r\n", 8);
}

static __always_inline bool rs_is_clickhouse(const __u8 *p, __u64 len)
{
	/* client Query packet: type 1, query id (empty or UUID), client info */
	if (len < 40 || p[0] != 1 || (p[1] != 0 && p[1] != 36))
		return false;
	__u64 i = 2 + p[1];
	__u8 kind = rs_at(p, i);
	if (kind != 1 && kind != 2)
		return false;
	__u8 ulen = rs_at(p, i + 1);
	if (ulen > 63)
		return false;
	i += 2 + ulen;
	__u8 qlen = rs_at(p, i);
	if (qlen != 0 && qlen != 36)
		return false;
	i += 1 + qlen;
	__u8 alen = rs_at(p, i);
	if (alen == 0 || alen > 48 || i + 1 >= len)
		return false;
	__u8 c = rs_at(p, i + 1);
	return rs_digit(c) || c == '[' || c == ':';
}

static __always_inline bool rs_is_kafka(const __u8 *p, __u64 len, __u64 size)
{
	if (len < 12 || (__u64)rs_be32(p) + 4 != size)
		return false;
	__u16 api_key = rs_be16(p + 4);
	__u16 api_version = rs_be16(p + 6);
	__s32 corr = (__s32)rs_be32(p + 8);
	return api_key <= 67 && api_version <= 20 && corr > 0;
}

static __always_inline bool rs_is_dns_query(const __u8 *p, __u64 len)
{
	if (len < 12)
		return false;
	return (p[2] & 0x80) == 0 && ((p[2] >> 3) & 0xF) == 0 && rs_be16(p + 4) == 1 && rs_be16(p + 6) == 0;
}

/* Where a DNS message's id is: after the 2-byte length that starts every message over TCP when
 * the bytes hold it (a client's write, a read of the whole message), else at 0 (UDP, or a server
 * that read the length on its own first). */
static __always_inline __u64 rs_dns_id_at(const __u8 *p, __u64 len, __u64 size, __u8 sock_type)
{
	return sock_type == RS_SOCK_STREAM && len >= 14 && rs_be16(p) == size - 2 ? 2 : 0;
}

static __always_inline __u8 rs_detect(const __u8 *p, __u64 len, __u64 size, __u8 sock_type)
{
	if (sock_type == RS_SOCK_DGRAM)
		return rs_is_dns_query(p, len) ? RS_L7_DNS : RS_L7_UNKNOWN;
	if (rs_is_http(p, len))
		return RS_L7_HTTP;
	if (rs_is_postgres(p, len, size))
		return RS_L7_POSTGRES;
	if (rs_is_redis(p, len))
		return RS_L7_REDIS;
	if (rs_is_memcached(p, len, size))
		return RS_L7_MEMCACHED;
	if (rs_is_mysql(p, len, size))
		return RS_L7_MYSQL;
	if (rs_is_mongo(p, len, size))
		return RS_L7_MONGO;
	if (rs_is_amqp_header(p, len) || rs_is_amqp_method(p, len, 60, 40)) /* connection start, Basic.Publish */
		return RS_L7_RABBITMQ;
	if (rs_is_nats_pub(p, len, size))
		return RS_L7_NATS;
	if (rs_is_cassandra(p, len, size))
		return RS_L7_CASSANDRA;
	if (rs_is_http2_preface(p, len))
		return RS_L7_HTTP2;
	if (rs_is_clickhouse(p, len))
		return RS_L7_CLICKHOUSE;
	if (rs_is_kafka(p, len, size))
		return RS_L7_KAFKA;
	return RS_L7_UNKNOWN;
}

/* ---------------- events ---------------- */

/* The heavy lifting lives in global (noinline, non-static) functions with scalar arguments: the
 * verifier checks each of them once instead of once per call site and per path, which keeps the
 * sys_exit program far below the complexity limit. Per-CPU scratch is looked up again
 * inside each function (tracepoint programs do not migrate between CPUs while running). */
#define RS_GLOBAL __attribute__((noinline))
#define RS_TLS_RECORD 0xff /* rs_detect_req: not a protocol, the bytes are a TLS record */
#define RS_F_WRITE 1
#define RS_F_PROTO_SHIFT 8

static __always_inline struct rs_l7_ev_scratch *rs_ev(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&rs_l7_ev_buf, &zero);
}

static __always_inline struct rs_l7_req_scratch *rs_reqbuf(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&rs_l7_req_buf, &zero);
}

/* request bytes -> request scratch (cap RS_L7_MAX_REQUEST) */
RS_GLOBAL int rs_copy_req(__u64 ptr, __u64 iovcnt, __u64 total)
{
	struct rs_l7_req_scratch *s = rs_reqbuf();
	if (!s)
		return 0;
	struct rs_io io = { .ptr = ptr, .iovcnt = iovcnt };
	return rs_copy_user(s->req.payload, RS_L7_MAX_REQUEST, &io, total);
}

/* response bytes -> event scratch at RS_EV_RESP_TMP (cap RS_L7_MAX_RESPONSE) */
RS_GLOBAL int rs_copy_resp(__u64 ptr, __u64 iovcnt, __u64 total)
{
	struct rs_l7_ev_scratch *ev = rs_ev();
	if (!ev)
		return 0;
	struct rs_io io = { .ptr = ptr, .iovcnt = iovcnt };
	return rs_copy_user(ev->data + RS_EV_RESP_TMP, RS_L7_MAX_RESPONSE, &io, total);
}

/* data bytes -> event scratch at 0 (cap RS_L7_MAX_CHUNK when big, else RS_L7_MAX_REQUEST) */
RS_GLOBAL int rs_copy_data(__u64 ptr, __u64 iovcnt, __u64 total, __u64 big, __u64 skip)
{
	struct rs_l7_ev_scratch *ev = rs_ev();
	if (!ev || skip >= total)
		return 0;
	struct rs_io io = { .ptr = iovcnt ? ptr : ptr + skip, .iovcnt = iovcnt };
	if (big && iovcnt > 0) {
		struct rs_iov_walk w = { .iov = ptr, .cnt = iovcnt, .total = total - skip, .off = 0, .skip = skip };
		bpf_loop(RS_MAX_CHUNK_IOV, rs_iov_step, &w, 0);
		return w.off;
	}
	if (big)
		return rs_copy_user(ev->data, RS_L7_MAX_CHUNK, &io, total - skip);
	return rs_copy_user(ev->data, RS_L7_MAX_REQUEST, &io, total);
}

/* HTTP/2 is told by the client preface, which a connection opened before the agent started sent
 * long ago. Such a connection (found by its I/O) is taken for HTTP/2 at a request-side syscall
 * that is a chain of frames starting with a client's HEADERS (odd stream, known flags, at most the
 * default 16 KiB frame size) and whose frame headers, as far as the captured bytes show (up to
 * RS_H2_FRAMES_CHECKED), are sound and end exactly at the syscall's size, or run past it after the
 * first frame (a frame split across writes). */
#define RS_H2_FRAMES_CHECKED 4
/* p: the request scratch's payload (its slack covers a header read at any masked offset) */
static __always_inline bool rs_is_http2_frames(const __u8 *p, __u64 len, __u64 size)
{
	__u64 off = 0;
	for (int i = 0; i < RS_H2_FRAMES_CHECKED; i++) {
		if (off >= size)
			return off == size || i > 1;
		if (off + 9 > len)
			return i > 0; /* the rest was not captured */
		__u64 o = off & (RS_L7_MAX_REQUEST - 1);
		__u32 flen = ((__u32)p[o] << 16) | ((__u32)p[o + 1] << 8) | p[o + 2];
		__u8 type = p[o + 3], flags = p[o + 4];
		__u32 sid = rs_be32(p + o + 5);
		if ((sid & 0x80000000) || type > 9)
			return 0;
		if (i == 0 && (type != 1 || (sid & 1) == 0 || (flags & ~0x2d) != 0 || flen > 16384))
			return 0;
		off += 9 + flen;
	}
	return 1;
}

/* what rs_detect_req may look for beyond rs_detect(), from the connection */
#define RS_HINT_MID_STREAM 1 /* found by its I/O: HTTP/2 without its preface */
#define RS_HINT_DNS_PORT 2   /* a TCP connection to or on port 53: DNS over TCP */

/* protocol of the bytes in the request scratch */
RS_GLOBAL int rs_detect_req(__u64 len, __u64 size, __u64 sock_type, __u64 hints)
{
	struct rs_l7_req_scratch *s = rs_reqbuf();
	if (!s)
		return 0;
	if (len > RS_L7_MAX_REQUEST)
		len = RS_L7_MAX_REQUEST;
	const __u8 *p = s->req.payload;
	/* a TLS record header (content type 20..23, version 3.x): ciphertext of a connection whose
	 * library does its socket I/O outside SSL_read/SSL_write (memory BIOs, e.g. Node.js) */
	if (sock_type == RS_SOCK_STREAM && len >= 5 && p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 3 && p[2] <= 4)
		return RS_TLS_RECORD;
	__u8 proto = rs_detect(p, len, size, sock_type);
	if (proto != RS_L7_UNKNOWN || sock_type != RS_SOCK_STREAM)
		return proto;
	__u64 dns_at = rs_dns_id_at(p, len, size, sock_type);
	if ((hints & RS_HINT_DNS_PORT) && rs_is_dns_query(p + dns_at, len - dns_at))
		return RS_L7_DNS;
	if ((hints & RS_HINT_MID_STREAM) && rs_is_http2_frames(p, len, size))
		return RS_L7_HTTP2;
	return proto;
}

static __always_inline void rs_fill_hdr(struct rs_l7_event *h, const struct rs_l7_conn *c, __u64 ck, __u8 kind,
					__u64 now)
{
	__builtin_memset(h, 0, sizeof(*h));
	h->timestamp_ns = now;
	h->sock_id = c->sk;
	h->conn_start_ns = c->start_ns;
	h->cgroup_id = c->cgroup_id;
	h->pid = ck >> 32;
	h->fd = (__u32)ck;
	h->stream_id = RS_L7_NO_STREAM;
	h->kind = kind;
	h->direction = c->direction;
	h->sock_type = c->sock_type;
	h->flags = (c->tls ? RS_L7_F_TLS : 0) | (c->opened ? RS_L7_F_OPENED : 0);
	h->peer_port = c->peer_port;
	h->peer_family = c->peer_family;
	h->local_port = c->local_port;
	__builtin_memcpy(h->peer_addr, c->peer_addr, sizeof(h->peer_addr));
}

/* HTTP/2 chunk (flags & RS_F_PROTO == 0) or NATS/RabbitMQ message (protocol in flags): the
 * syscall's bytes as an event of their own. */
struct rs_piece_walk {
	__u64 ck;
	__u64 ptr;
	__u64 iovcnt;
	__u64 bytes;
	__u64 flags;
	__u64 pieces;
};

static long rs_piece_step(__u64 k, struct rs_piece_walk *w)
{
	__u64 off = k * RS_L7_MAX_CHUNK;
	if (k >= w->pieces || off >= w->bytes)
		return 1;
	__u64 ck = w->ck;
	struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	if (!c)
		return 1;
	__u8 proto = (w->flags >> RS_F_PROTO_SHIFT) & 0xff;
	bool chunk = proto == RS_L7_HTTP2;
	__u64 n = rs_copy_data(w->ptr, w->iovcnt, w->bytes, w->pieces > 1, off);
	struct rs_l7_ev_scratch *ev = rs_ev();
	if (!ev)
		return 1;
	rs_fill_hdr(&ev->hdr, c, ck, chunk ? RS_L7_EV_HTTP2_CHUNK : RS_L7_EV_MESSAGE, bpf_ktime_get_ns());
	ev->hdr.protocol = proto;
	ev->hdr.io = (w->flags & RS_F_WRITE) ? RS_L7_IO_WRITE : RS_L7_IO_READ;
	RS_BARRIER(n);
	if (n > RS_L7_MAX_CHUNK)
		n = RS_L7_MAX_CHUNK;
	bool last = n < RS_L7_MAX_CHUNK || k + 1 >= w->pieces || off + n >= w->bytes;
	ev->hdr.request_size = last ? w->bytes - off : n;
	ev->hdr.request_len = n;
	if (chunk) {
		if (last && w->bytes - off > n)
			rs_count(RS_L7_CNT_CHUNK_TRUNCATED);
		rs_count(RS_L7_CNT_CHUNK_EVENTS);
	}
	rs_output(ev, sizeof(struct rs_l7_event) + n);
	return last ? 1 : 0;
}

RS_GLOBAL int rs_emit_data(__u64 ck, __u64 ptr, __u64 iovcnt, __u64 bytes, __u64 flags)
{
	struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	if (!c)
		return 0;
	__u8 proto = (flags >> RS_F_PROTO_SHIFT) & 0xff;
	/* broker client connections are shipped whole too: user space walks their commands/frames */
	bool big = proto == RS_L7_HTTP2 || proto == RS_L7_NATS || proto == RS_L7_RABBITMQ;
	/* A syscall longer than one chunk goes out as consecutive events of up to RS_L7_MAX_CHUNK
	 * bytes each (nats.js writes 200 PUBs at once; a gRPC writev can pass 4 KiB). Every event's
	 * request_size is the bytes it stands for: its own length, except for the last one, which
	 * also stands for whatever did not fit in RS_MAX_PIECES. A bpf_loop callback, so that the
	 * verifier checks one piece rather than sixteen. */
	struct rs_piece_walk w = { .ck = ck, .ptr = ptr, .iovcnt = iovcnt, .bytes = bytes, .flags = flags,
				   .pieces = big ? RS_MAX_PIECES : 1 };
	bpf_loop(RS_MAX_PIECES, rs_piece_step, &w, 0);
	return 0;
}

/* MySQL/MariaDB servers read a packet's 4-byte header and then its body with two syscalls, so
 * on an inbound connection neither read alone looks like a request. A 4-byte read that can be a
 * command packet's header (sequence 0) is parked under the connection's pending key; when the
 * next read is exactly the announced body and starts with a command byte, the two are joined in
 * the request scratch (header + body prefix). Returns -1 when the read was parked, the joined
 * length when it completed a parked header, 0 otherwise (the read is handled as usual). */
RS_GLOBAL int rs_mysql_split_read(struct rs_l7_conn *c, __u64 len, __u64 bytes)
{
	struct rs_l7_req_scratch *s = rs_reqbuf();
	struct rs_l7_ev_scratch *ev = rs_ev();
	if (!s || !ev || !c)
		return 0;
	__u64 conn_start = c->start_ns;
	struct rs_l7_pkey pk = { .conn = c->key, .stream = RS_L7_NO_STREAM };
	struct rs_l7_slot *sl = rs_slot(c);
	struct rs_l7_req *old = sl ? (sl->full ? &sl->req : NULL) : bpf_map_lookup_elem(&rs_l7_pending, &pk);
	if (old && old->protocol == RS_L7_MYSQL_HEADER) {
		__u8 h0 = old->payload[0], h1 = old->payload[1], h2 = old->payload[2];
		bool same_conn = old->conn_start == conn_start;
		rs_pending_take(sl, &pk);
		__u64 plen = h0 | ((__u64)h1 << 8) | ((__u64)h2 << 16);
		if (!same_conn || bytes != plen || len == 0)
			return 0;
		__u8 cmd = s->req.payload[0];
		if (cmd != 0x03 && cmd != 0x16 && cmd != 0x17 && cmd != RS_MYSQL_COM_STMT_CLOSE)
			return 0;
		/* the header, then the body */
		__u8 header[4] = { h0, h1, h2, 0 };
		return rs_join(s->req.payload, header, 4, s->req.payload, len > RS_L7_MAX_REQUEST - 4 ? RS_L7_MAX_REQUEST - 4 : len, ev->data);
	}
	if (old || bytes != 4 || len != 4 || s->req.payload[3] != 0 ||
	    (s->req.payload[0] | s->req.payload[1] | s->req.payload[2]) == 0)
		return 0;
	s->req.ts = bpf_ktime_get_ns();
	s->req.conn_start = conn_start;
	s->req.size = 4;
	s->req.len = 4;
	s->req.protocol = RS_L7_MYSQL_HEADER;
	if (sl)
		rs_slot_put(sl, &s->req);
	else
		bpf_map_update_elem(&rs_l7_pending, &pk, &s->req, BPF_NOEXIST);
	return -1;
}

RS_GLOBAL int rs_on_request(struct rs_l7_conn *c, __u64 ptr, __u64 iovcnt, __u64 bytes, __u64 flags)
{
	if (!c)
		return 0;
	__u64 ck = c->key;
	__u64 len = rs_copy_req(ptr, iovcnt, bytes);
	if (c->direction == RS_L7_DIR_INBOUND && c->sock_type == RS_SOCK_STREAM &&
	    (c->protocol == RS_L7_UNKNOWN || c->protocol == RS_L7_MYSQL)) {
		int joined = rs_mysql_split_read(c, len, bytes);
		if (joined < 0)
			return 0;
		if (joined > 0) {
			len = joined;
			bytes += 4;
		}
	}
	struct rs_l7_req_scratch *s = rs_reqbuf();
	if (!s)
		return 0;
	__u64 carried = c->carry_len;
	if (carried > 0 && c->sock_type == RS_SOCK_STREAM) {
		c->carry_len = 0;
		struct rs_l7_ev_scratch *tmp = rs_ev(); /* free until an event is built */
		if (!tmp)
			return 0;
		if (carried > RS_CARRY_MAX)
			carried = RS_CARRY_MAX;
		/* the carried bytes, then this read's */
		len = rs_join(s->req.payload, c->carry, carried, s->req.payload,
			      len > RS_L7_MAX_REQUEST - RS_CARRY_MAX ? RS_L7_MAX_REQUEST - RS_CARRY_MAX : len, tmp->data);
		if (len == 0)
			return 0;
		bytes += carried;
	}
	__u64 hints = (!c->opened && c->protocol == RS_L7_UNKNOWN ? RS_HINT_MID_STREAM : 0) |
		      ((c->direction == RS_L7_DIR_OUTBOUND ? c->peer_port : c->local_port) == 53 ? RS_HINT_DNS_PORT : 0);
	__u8 proto = rs_detect_req(len, bytes, c->sock_type, hints);
	if (proto == RS_TLS_RECORD) {
		c->tls = 1; /* from now on only the SSL_* probes look at this connection */
		return 0;
	}
	if (proto == RS_L7_UNKNOWN) {
		/* only what can start an HTTP method (GET, POST, PUT, PATCH, HEAD, DELETE, OPTIONS,
		 * CONNECT, TRACE): that is the read-ahead this is for; other tiny writes (acks) are not */
		__u8 b0 = s->req.payload[0];
		bool method_start = b0 == 'G' || b0 == 'P' || b0 == 'H' || b0 == 'D' || b0 == 'O' || b0 == 'C' || b0 == 'T';
		if (carried == 0 && method_start && bytes <= RS_CARRY_MAX && len == bytes && c->sock_type == RS_SOCK_STREAM) {
			for (int i = 0; i < RS_CARRY_MAX; i++)
				if (i < len)
					c->carry[i] = s->req.payload[i];
			c->carry_len = len;
		}
		return 0;
	}
	if (proto == RS_L7_HTTP2) {
		c->protocol = RS_L7_HTTP2;
		rs_emit_data(ck, ptr, iovcnt, bytes, (flags & RS_F_WRITE) | (RS_L7_HTTP2 << RS_F_PROTO_SHIFT));
		return 0;
	}
	if (proto == RS_L7_NATS || proto == RS_L7_RABBITMQ) {
		c->protocol = proto;
		if (c->direction == RS_L7_DIR_OUTBOUND)
			rs_emit_data(ck, ptr, iovcnt, bytes, (flags & RS_F_WRITE) | ((__u64)proto << RS_F_PROTO_SHIFT));
		return 0;
	}
	/* COM_STMT_CLOSE has no response: parked, it would take the place of the next request */
	if (proto == RS_L7_MYSQL && s->req.payload[4] == RS_MYSQL_COM_STMT_CLOSE) {
		c->protocol = proto;
		return 0;
	}
	struct rs_l7_pkey pk = { .conn = ck, .stream = RS_L7_NO_STREAM };
	if (proto == RS_L7_DNS)
		pk.stream = rs_be16(s->req.payload + rs_dns_id_at(s->req.payload, len, bytes, c->sock_type));
	else if (proto == RS_L7_CASSANDRA)
		pk.stream = rs_be16(s->req.payload + 2);
	s->req.ts = bpf_ktime_get_ns();
	s->req.conn_start = c->start_ns;
	s->req.size = bytes;
	s->req.len = len;
	s->req.protocol = proto;
	s->req.direction = c->direction;
	if (bytes > RS_L7_MAX_REQUEST)
		rs_count(RS_L7_CNT_REQUEST_TRUNCATED);
	c->protocol = proto;
	struct rs_l7_slot *sl = pk.stream == RS_L7_NO_STREAM ? rs_slot(c) : NULL;
	if (sl) {
		long put = rs_slot_put(sl, &s->req);
		if (put == -RS_EEXIST && proto == RS_L7_REDIS && rs_slot_append(sl, &s->req))
			return 0;
		if (put == -RS_EEXIST) {
			rs_count(RS_L7_CNT_REQUEST_OVERLAP);
			rs_count_unanswered(RS_L7_UNANSWERED_PIPELINED, c->direction, proto);
		}
		return 0;
	}
	long err = bpf_map_update_elem(&rs_l7_pending, &pk, &s->req, BPF_NOEXIST);
	if (err == 0) {
		if (pk.stream != RS_L7_NO_STREAM) {
			rs_remember_stream(c, pk.stream);
		} else {
			/* the slot was free although a request was still awaited: the LRU map dropped it */
			if (c->awaiting)
				rs_count_evicted(c);
			c->awaiting = 1;
		}
		return 0;
	}
	if (err != -RS_EEXIST) {
		rs_count(RS_L7_CNT_PENDING_MAP_FULL);
		rs_count_unanswered(RS_L7_UNANSWERED_NOT_STORED, c->direction, proto);
		return 0;
	}
	struct rs_l7_req *old = bpf_map_lookup_elem(&rs_l7_pending, &pk);
	if (old && old->conn_start != c->start_ns) {
		/* left over from an earlier connection on this fd */
		rs_count(RS_L7_CNT_REQUEST_EVICTED);
		rs_count_unanswered(RS_L7_UNANSWERED_STALE, old->direction, old->protocol);
		if (bpf_map_update_elem(&rs_l7_pending, &pk, &s->req, BPF_ANY) == 0 && pk.stream == RS_L7_NO_STREAM)
			c->awaiting = 1;
		return 0;
	}
	rs_count(RS_L7_CNT_REQUEST_OVERLAP);
	rs_count_unanswered(RS_L7_UNANSWERED_PIPELINED, c->direction, proto);
	return 0;
}

RS_GLOBAL int rs_on_response(struct rs_l7_conn *c, __u64 ptr, __u64 iovcnt, __u64 bytes, __u64 flags)
{
	if (!c)
		return 0;
	__u64 ck = c->key;
	bool is_write = flags & RS_F_WRITE;
	struct rs_l7_pkey pk = { .conn = ck, .stream = RS_L7_NO_STREAM };
	bool by_stream = c->sock_type == RS_SOCK_DGRAM || c->protocol == RS_L7_CASSANDRA || c->protocol == RS_L7_DNS;
	bool maybe_message = !is_write && c->direction == RS_L7_DIR_OUTBOUND;
	struct rs_l7_req *req = NULL;
	struct rs_l7_slot *sl = by_stream ? NULL : rs_slot(c);
	if (sl) {
		/* cheap path: nothing pending, nothing to do (e.g. the rest of a response) */
		req = sl->full ? &sl->req : NULL;
		if (!req && !maybe_message)
			return 0;
	} else if (!by_stream) {
		req = bpf_map_lookup_elem(&rs_l7_pending, &pk);
		if (!req && c->awaiting) {
			/* the response to a request the LRU map dropped */
			c->awaiting = 0;
			rs_count_evicted(c);
		}
		if (!req && !maybe_message)
			return 0;
	}
	__u64 rlen = rs_copy_resp(ptr, iovcnt, bytes);
	struct rs_l7_ev_scratch *ev = rs_ev();
	if (!ev)
		return 0;
	__u8 *resp = ev->data + RS_EV_RESP_TMP;

	if (!req && !by_stream) {
		/* NATS MSG/HMSG or AMQP Basic.Deliver read by a consumer, or the INFO line a NATS server
		 * greets every client with: from then on the connection is streamed (rs_process) */
		bool nats = rs_prefix(resp, rlen, "MSG ", 4) || rs_prefix(resp, rlen, "MSG\t", 4) ||
			    rs_prefix(resp, rlen, "HMSG ", 5) || rs_prefix(resp, rlen, "HMSG\t", 5) ||
			    rs_prefix(resp, rlen, "INFO {", 6);
		bool amqp = !nats && rlen >= 12 && resp[0] == 1 && rs_be16(resp + 7) == 60 && rs_be16(resp + 9) == 60;
		if (nats || amqp) {
			__u64 proto = nats ? RS_L7_NATS : RS_L7_RABBITMQ;
			c->protocol = proto;
			rs_emit_data(ck, ptr, iovcnt, bytes, (flags & RS_F_WRITE) | (proto << RS_F_PROTO_SHIFT));
		}
		return 0;
	}
	if (by_stream) {
		if (rlen < 4)
			return 0;
		if (c->sock_type == RS_SOCK_DGRAM || c->protocol == RS_L7_DNS) {
			/* over TCP, a client that reads the 2-byte length first pairs at the read after */
			__u64 at = rs_dns_id_at(resp, rlen, bytes, c->sock_type);
			if (rlen < 12 + at || (resp[at + 2] & 0x80) == 0) /* DNS: QR must be set */
				return 0;
			pk.stream = rs_be16(resp + at);
		} else {
			if ((resp[0] & 0x80) == 0) /* Cassandra response frame */
				return 0;
			pk.stream = rs_be16(resp + 2);
		}
		req = bpf_map_lookup_elem(&rs_l7_pending, &pk);
		if (!req && rs_forget_stream(c, pk.stream))
			rs_count_evicted(c); /* a query id the connection stored, gone from the map */
	}
	if (!req)
		return 0;
	if (req->conn_start != c->start_ns) {
		__u8 stale_protocol = req->protocol, stale_direction = req->direction;
		if (rs_pending_take(sl, &pk)) {
			rs_count(RS_L7_CNT_REQUEST_EVICTED);
			rs_count_unanswered_n(RS_L7_UNANSWERED_STALE, stale_direction, stale_protocol, 1 + (__u32)req->merged);
		}
		return 0;
	}
	__u8 proto = req->protocol;
	if (proto == RS_L7_MYSQL_HEADER) /* a parked header is no request yet */
		return 0;
	/* HTTP/1: a later chunk of an earlier response must not pair with a newer request */
	if (proto == RS_L7_HTTP && !rs_prefix(resp, rlen, "HTTP/", 5))
		return 0;

	__u64 now = bpf_ktime_get_ns();
	rs_fill_hdr(&ev->hdr, c, ck, RS_L7_EV_REQUEST, now);
	ev->hdr.protocol = proto;
	ev->hdr.duration_ns = now - req->ts;
	ev->hdr.response_size = bytes;
	ev->hdr.stream_id = pk.stream;
	/* a command being appended on another thread (rs_slot_append): wait the few hundred ns */
	for (int i = 0; sl && i < RS_APPEND_WAIT && READ_ONCE(sl->full) == 2; i++)
		;
	__u16 merged = req->merged;
	__u64 qlen = req->len;
	RS_BARRIER(qlen);
	if (qlen > RS_L7_MAX_REQUEST)
		qlen = RS_L7_MAX_REQUEST;
	if (bpf_probe_read_kernel(ev->data, qlen, req->payload) != 0)
		return 0;
	ev->hdr.request_size = req->size;
	/* copy first, then claim: only the thread whose claim succeeds emits */
	if (!rs_pending_take(sl, &pk))
		return 0;
	/* commands appended after the copy (another thread, between it and the claim) are not in
	 * this event: counted as never answered */
	if (sl && req->merged != merged)
		rs_count_unanswered_n(RS_L7_UNANSWERED_PIPELINED, c->direction, proto, (__u16)(req->merged - merged));
	if (pk.stream != RS_L7_NO_STREAM)
		rs_forget_stream(c, pk.stream);
	else
		c->awaiting = 0;
	if (bytes > RS_L7_MAX_RESPONSE)
		rs_count(RS_L7_CNT_RESPONSE_TRUNCATED);
	RS_BARRIER(rlen);
	if (rlen > RS_L7_MAX_RESPONSE)
		rlen = RS_L7_MAX_RESPONSE;
	__u64 at = qlen;
	RS_BARRIER(at);
	at &= 2 * RS_L7_MAX_REQUEST - 1;
	if (rlen > 0 && bpf_probe_read_kernel(ev->data + at, rlen, resp) != 0)
		rlen = 0;
	ev->hdr.request_len = qlen;
	ev->hdr.response_len = rlen;
	rs_count(RS_L7_CNT_REQUEST_EVENTS);
	rs_output(ev, sizeof(struct rs_l7_event) + qlen + rlen);
	return 0;
}

/* c: the connection's entry in rs_l7_conns, as its caller just looked it up (one hash lookup per
 * syscall instead of one per function; a global function checks it as plain memory) */
RS_GLOBAL int rs_process(struct rs_l7_conn *c, __u64 ptr, __u64 iovcnt, __u64 bytes, __u64 is_write)
{
	if (!c)
		return 0;
	__u64 ck = c->key;
	if (is_write)
		__sync_fetch_and_add(&c->bytes_sent, bytes);
	else
		__sync_fetch_and_add(&c->bytes_received, bytes);
	__u64 flags = is_write ? RS_F_WRITE : 0;
	if (c->protocol == RS_L7_HTTP2)
		return rs_emit_data(ck, ptr, iovcnt, bytes, flags | (RS_L7_HTTP2 << RS_F_PROTO_SHIFT));
	/* A NATS or AMQP client connection: every syscall, both ways, goes to user space, which
	 * counts each PUB/MSG and Basic.Publish/Deliver (several share one write or read). */
	if ((c->protocol == RS_L7_NATS || c->protocol == RS_L7_RABBITMQ) && c->direction == RS_L7_DIR_OUTBOUND)
		return rs_emit_data(ck, ptr, iovcnt, bytes, flags | ((__u64)c->protocol << RS_F_PROTO_SHIFT));
	bool request_side = (c->direction == RS_L7_DIR_OUTBOUND) == (is_write != 0);
	if (request_side)
		return rs_on_request(c, ptr, iovcnt, bytes, flags);
	return rs_on_response(c, ptr, iovcnt, bytes, flags);
}

/* ---------------- syscall plumbing ---------------- */

/* x86-64 syscall numbers (the object is built for __TARGET_ARCH_x86 only). */
#define RS_NR_READ 0
#define RS_NR_WRITE 1
#define RS_NR_CLOSE 3
#define RS_NR_READV 19
#define RS_NR_WRITEV 20
#define RS_NR_CONNECT 42
#define RS_NR_ACCEPT 43
#define RS_NR_SENDTO 44
#define RS_NR_RECVFROM 45
#define RS_NR_SENDMSG 46
#define RS_NR_RECVMSG 47
#define RS_NR_ACCEPT4 288
#define RS_NR_SENDMMSG 307
#define RS_TS_COMPAT 0x0002 /* thread_info.status: a 32-bit syscall is running (other numbers) */

/* Everything happens at syscall exit, where the real byte count (`ret`) is known and the user
 * buffer is still intact; the arguments come from the saved user registers, which the read/write
 * family leaves untouched. One raw (BTF) tracepoint on sys_exit costs every syscall of every
 * process about as much as the per-syscall tracepoints' mere "is this one traced?" check, and a
 * traced read/write far less: no enter program, no per-thread argument map, no perf record.
 * (Any syscall tracepoint, even close()'s alone, would put every syscall back on that path.) */
static __always_inline int rs_io_exit(__u64 id, __u32 fd, __u8 kind, __u8 is_write, __u64 ptr, __u64 cnt, long ret)
{
	if (ret <= 0)
		return 0;
	__u64 ck = (id & 0xffffffff00000000ULL) | fd;
	struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	if (!c) {
		if (bpf_map_lookup_elem(&rs_l7_nonsock, &ck))
			return 0;
		if (!rs_track(ck, fd, is_write ? RS_L7_DIR_OUTBOUND : RS_L7_DIR_INBOUND, 1))
			return 0;
		c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
		if (!c)
			return 0;
	}
	/* plaintext this thread wrote into rustls: these are its records (see rs_rustls_write_exit) */
	if (is_write && rs_rustls_unsent) {
		struct rs_rustls_write *wp = bpf_map_lookup_elem(&rs_rustls_writes, &id);
		if (wp) {
			struct rs_rustls_write w = *wp;
			if (bpf_map_delete_elem(&rs_rustls_writes, &id) == 0)
				__sync_fetch_and_add(&rs_rustls_unsent, -1);
			c->tls = 1;
			__sync_fetch_and_add(&c->bytes_sent, ret);
			rs_count(RS_L7_CNT_TLS_CALLS);
			return rs_process(c, w.buf, w.iovcnt, w.len, 1);
		}
	}
	/* the library's own I/O under SSL_read/SSL_write: that names the call's socket */
	bool in_tls = false;
	struct rs_tls_call *tls = rs_tls_inflight ? bpf_map_lookup_elem(&rs_tls_calls, &id) : NULL;
	if (tls) {
		tls->fd = fd;
		in_tls = true;
	}
	/* a read outside any SSL call that may be ciphertext: what a memory-BIO SSL_read on this
	 * thread will decrypt next (see rs_tls_last_read) */
	if (!is_write && !in_tls && (c->tls || c->protocol == RS_L7_UNKNOWN)) {
		__u64 fd64 = fd;
		bpf_map_update_elem(&rs_tls_last_read, &id, &fd64, BPF_ANY);
	}
	if (in_tls || c->tls) {
		/* ciphertext: the plaintext is handled at the SSL_* return probe */
		c->tls = 1;
		if (is_write)
			__sync_fetch_and_add(&c->bytes_sent, ret);
		else
			__sync_fetch_and_add(&c->bytes_received, ret);
		return 0;
	}
	if (kind == RS_K_BUF)
		return rs_process(c, ptr, 0, ret, is_write);
	if (kind == RS_K_IOV)
		return rs_process(c, ptr, cnt, ret, is_write);
	/* msghdr fields read one by one: whole structs would cost the sys_exit frame 120 bytes */
	if (kind == RS_K_MSG) {
		__u64 iov = 0, iovlen = 0;
		if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)(ptr + offsetof(struct user_msghdr, msg_iov))) != 0 ||
		    bpf_probe_read_user(&iovlen, sizeof(iovlen), (const void *)(ptr + offsetof(struct user_msghdr, msg_iovlen))) != 0 ||
		    iovlen == 0)
			return 0;
		return rs_process(c, iov, iovlen, ret, is_write);
	}
	if (kind == RS_K_MMSG) {
		/* sendmmsg: ret = messages sent; look at the first two (A + AAAA lookups come in pairs) */
		for (int i = 0; i < 2; i++) {
			if (i >= ret)
				break;
			__u64 m = ptr + i * sizeof(struct mmsghdr), iov = 0, iovlen = 0;
			__u32 len = 0;
			if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)(m + offsetof(struct mmsghdr, msg_hdr.msg_iov))) != 0 ||
			    bpf_probe_read_user(&iovlen, sizeof(iovlen), (const void *)(m + offsetof(struct mmsghdr, msg_hdr.msg_iovlen))) != 0 ||
			    bpf_probe_read_user(&len, sizeof(len), (const void *)(m + offsetof(struct mmsghdr, msg_len))) != 0)
				break;
			if (iovlen == 0 || len == 0)
				continue;
			rs_process(c, iov, iovlen, len, is_write);
		}
	}
	return 0;
}

/* A new socket from connect() (0 or EINPROGRESS: outbound) or accept() (inbound). */
static __always_inline int rs_new_socket(__u64 id, long fd, __u8 direction)
{
	if (fd < 0 || fd > 0x7fffffff)
		return 0;
	__u64 ck = (id & 0xffffffff00000000ULL) | (__u32)fd;
	bpf_map_delete_elem(&rs_l7_nonsock, &ck);
	rs_track(ck, (__u32)fd, direction, 0);
	return 0;
}

/* A tracked connection ends (close(), or its process exits): its pending requests are counted
 * unanswered for `reason`, a CONN_CLOSE event says what it moved and how many were left (so user
 * space can tell whose), and the fd is forgotten. */
static __always_inline void rs_conn_gone(__u64 ck, struct rs_l7_conn *c, __u32 reason)
{
	__u32 unanswered = 0;
	__u32 dropped = rs_evict_pending(c, ck, reason);
	if (dropped)
		unanswered += dropped;
	else if (c->awaiting)
		rs_count_evicted(c);
	rs_release_slot(c);
	/* a DNS socket closed before its answers came: the queries it leaves, by query id */
	for (int i = 0; i < RS_STREAM_SLOTS; i++) {
		if (c->pending_streams[i] == RS_L7_NO_STREAM)
			continue;
		if (rs_evict_stream(ck, c->pending_streams[i], reason))
			unanswered++;
		else
			rs_count_evicted(c);
	}
	unanswered += c->evicted; /* found dropped now or earlier: still this connection's */
	struct rs_l7_ev_scratch *ev = rs_ev();
	if (ev) {
		rs_fill_hdr(&ev->hdr, c, ck, RS_L7_EV_CONN_CLOSE, bpf_ktime_get_ns());
		ev->hdr.protocol = c->protocol;
		ev->hdr.bytes_sent = c->bytes_sent;
		ev->hdr.bytes_received = c->bytes_received;
		if (unanswered > 0) {
			ev->hdr.flags |= RS_L7_F_UNANSWERED;
			ev->hdr.stream_id = unanswered; /* close events carry no stream: the count */
		}
		rs_output(ev, sizeof(struct rs_l7_event));
	}
	bpf_map_delete_elem(&rs_l7_conns, &ck);
}

/* close(): at exit the number may already name a socket another thread just accepted or
 * connected (and tracked): that entry is left to its new owner. */
static __always_inline int rs_closed(__u64 id, long fd, long ret)
{
	if (fd < 0 || fd > 0x7fffffff || ret == -RS_EBADF)
		return 0;
	__u64 ck = (id & 0xffffffff00000000ULL) | (__u32)fd;
	struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	if (!c) {
		bpf_map_delete_elem(&rs_l7_nonsock, &ck);
		return 0;
	}
	__u16 family, type;
	struct sock *now = rs_fd_sock((__u32)fd, &family, &type);
	if (now && (__u64)(unsigned long)now == c->sk)
		return 0;
	rs_conn_gone(ck, c, RS_L7_UNANSWERED_CONN_CLOSED);
	return 0;
}

/* A 32-bit (compat) syscall: other numbers, other registers. The BTF task pointer is read
 * directly, without a probe-read helper (kernels >= 5.11; bpf_loop already needs 5.17). */
static __always_inline bool rs_compat_syscall(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return (task->thread_info.status & RS_TS_COMPAT) != 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(rs_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;
	__u8 kind = 0, is_write = 0;
	switch (nr) {
	case RS_NR_WRITE: case RS_NR_SENDTO: kind = RS_K_BUF; is_write = 1; break;
	case RS_NR_READ: case RS_NR_RECVFROM: kind = RS_K_BUF; break;
	case RS_NR_WRITEV: kind = RS_K_IOV; is_write = 1; break;
	case RS_NR_READV: kind = RS_K_IOV; break;
	case RS_NR_SENDMSG: kind = RS_K_MSG; is_write = 1; break;
	case RS_NR_RECVMSG: kind = RS_K_MSG; break;
	case RS_NR_SENDMMSG: kind = RS_K_MMSG; is_write = 1; break;
	case RS_NR_CONNECT: case RS_NR_ACCEPT: case RS_NR_ACCEPT4: case RS_NR_CLOSE: break;
	default: return 0; /* every other syscall of every process: keep this path short */
	}
	if (rs_compat_syscall())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	long fd = regs->di;
	if (nr == RS_NR_CONNECT)
		return ret == 0 || ret == -RS_EINPROGRESS ? rs_new_socket(id, fd, RS_L7_DIR_OUTBOUND) : 0;
	if (nr == RS_NR_ACCEPT || nr == RS_NR_ACCEPT4)
		return rs_new_socket(id, ret, RS_L7_DIR_INBOUND);
	if (nr == RS_NR_CLOSE)
		return rs_closed(id, fd, ret);
	if (fd < 0 || fd > 0x7fffffff)
		return 0;
	return rs_io_exit(id, (__u32)fd, kind, is_write, regs->si, regs->dx, ret);
}

/* ---------------- process exit ---------------- */

struct rs_exit_walk {
	__u64 tgid;
	__s64 slots; /* slots the process still holds: the slot walk stops when it has found them */
};

static long rs_exit_evict(struct bpf_map *map, struct rs_l7_pkey *key, struct rs_l7_req *req, struct rs_exit_walk *w)
{
	if ((key->conn >> 32) != w->tgid)
		return 0;
	__u64 ck = key->conn;
	struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	if (c)
		rs_conn_gone(ck, c, RS_L7_UNANSWERED_PROCESS_EXITED); /* this request and any other of the fd */
	else
		rs_evict_stream(ck, key->stream, RS_L7_UNANSWERED_PROCESS_EXITED); /* its connection aged out */
	return 0;
}

/* A slot of the exiting process: its connection ends here (CONN_CLOSE, the request counted), or,
 * when the connection already aged out of rs_l7_conns, the slot is freed and its request counted. */
static long rs_exit_slot(struct bpf_map *map, __u32 *idx, struct rs_l7_slot *sl, struct rs_exit_walk *w)
{
	__u64 ck = sl->conn;
	if (ck == 0 || (ck >> 32) != w->tgid)
		return 0;
	w->slots--;
	struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	if (c && c->start_ns == sl->conn_start) {
		rs_conn_gone(ck, c, RS_L7_UNANSWERED_PROCESS_EXITED);
		return w->slots <= 0;
	}
	rs_slot_evict(sl, RS_L7_UNANSWERED_PROCESS_EXITED);
	__sync_val_compare_and_swap(&sl->conn, ck, 0);
	return w->slots <= 0;
}

/* A process that dies (killed, or exit() without closing) closes its sockets in the kernel, with
 * no close() syscall: its requests still waiting for a response would stay pending forever (or
 * age out of the LRU map) uncounted. When its last thread exits, the pending map is walked for
 * them, and the slots when it still holds any (each walk visits every entry, about 0.25 ms for
 * the 8,192 slots; then it ends at the last slot of the process), but only for processes that
 * ever had a tracked connection (rs_l7_procs). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(rs_process_exit, struct task_struct *task)
{
	if (task->signal->live.counter != 0)
		return 0; /* other threads still run */
	__u32 tgid = task->tgid;
	__s64 *held = bpf_map_lookup_elem(&rs_l7_procs, &tgid);
	if (!held)
		return 0;
	struct rs_exit_walk w = { .tgid = tgid, .slots = *held };
	bpf_map_delete_elem(&rs_l7_procs, &tgid);
	if (w.slots > 0)
		bpf_for_each_map_elem(&rs_l7_slots, rs_exit_slot, &w, 0);
	bpf_for_each_map_elem(&rs_l7_pending, rs_exit_evict, &w, 0);
	return 0;
}



/* ---------------- TLS: plaintext at OpenSSL's SSL_read/SSL_write ----------------
 *
 * The agent attaches these to every libssl it finds mapped and to binaries that export the
 * symbols themselves (Node.js links OpenSSL statically). Entry saves the arguments per thread;
 * the return probe hands the plaintext to the same pairing code as the syscalls (rs_process).
 *
 * Which socket an SSL * belongs to is learned without OpenSSL struct offsets:
 *   - socket BIOs (nginx, curl, python): the library reads/writes the fd inside the call, and
 *     rs_enter records that fd in the call;
 *   - memory BIOs (Node.js): the runtime read the ciphertext from the socket just before it calls
 *     SSL_read on the same thread (rs_tls_last_read), or SSL_write for a client's first request
 *     written while its handshake completes;
 * either way the (tgid, SSL *) -> fd binding is kept for later calls that do no I/O (an SSL_write
 * into a memory BIO, an SSL_read served from OpenSSL's buffer). */

static __always_inline int rs_tls_enter(__u64 ssl, __u64 buf, __u64 len_ptr, __u8 is_write)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct rs_tls_call call = { .ssl = ssl, .buf = buf, .len_ptr = len_ptr, .fd = -1, .last_read_fd = -1, .is_write = is_write };
	__u64 *last = bpf_map_lookup_elem(&rs_tls_last_read, &id);
	if (last) {
		call.last_read_fd = *last;
		if (!is_write)
			bpf_map_delete_elem(&rs_tls_last_read, &id);
	}
	long err = bpf_map_update_elem(&rs_tls_calls, &id, &call, BPF_NOEXIST);
	if (err == 0)
		__sync_fetch_and_add(&rs_tls_inflight, 1);
	else if (err != -RS_EEXIST || bpf_map_update_elem(&rs_tls_calls, &id, &call, BPF_ANY) != 0)
		rs_count(RS_L7_CNT_ARGS_MAP_FULL); /* (an entry left by a call that never returned is replaced) */
	return 0;
}

static __always_inline int rs_tls_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct rs_tls_call *cp = bpf_map_lookup_elem(&rs_tls_calls, &id);
	if (!cp)
		return 0;
	struct rs_tls_call call = *cp;
	if (bpf_map_delete_elem(&rs_tls_calls, &id) == 0)
		__sync_fetch_and_add(&rs_tls_inflight, -1);

	__u64 tgid_hi = id & 0xffffffff00000000ULL;
	struct rs_tls_key key = { .tgid = id >> 32, .ssl = call.ssl };
	/* A write names its socket only by I/O inside the call. The thread's last read stands in just
	 * for an SSL * never bound before: a client that writes its first request while its handshake
	 * completes (Node.js: the server's last flight was read into the memory BIO right before). A
	 * later write must not take it: a server thread reads one connection and answers another. */
	__s64 fd = call.fd;
	if (fd < 0 && (!call.is_write || !bpf_map_lookup_elem(&rs_tls_bindings, &key)))
		fd = call.last_read_fd;
	if (fd >= 0) {
		__u64 ck = tgid_hi | (__u32)fd;
		struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
		if (c) {
			struct rs_tls_binding b = { .fd = (__u64)fd, .conn_start = c->start_ns };
			bpf_map_update_elem(&rs_tls_bindings, &key, &b, BPF_ANY);
		}
	}

	__u64 bytes;
	if (call.len_ptr) {
		if (ret != 1)
			return 0;
		__u64 n = 0;
		if (bpf_probe_read_user(&n, sizeof(n), (const void *)call.len_ptr) != 0)
			return 0;
		bytes = n;
	} else {
		if (ret <= 0)
			return 0;
		bytes = ret;
	}

	struct rs_tls_binding *b = bpf_map_lookup_elem(&rs_tls_bindings, &key);
	if (!b) {
		rs_count(RS_L7_CNT_TLS_UNBOUND);
		return 0;
	}
	__u64 ck = tgid_hi | (__u32)b->fd;
	__u64 conn_start = b->conn_start;
	struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	if (!c || c->start_ns != conn_start) {
		/* the fd was closed or reused since: the binding is stale */
		bpf_map_delete_elem(&rs_tls_bindings, &key);
		rs_count(RS_L7_CNT_TLS_UNBOUND);
		return 0;
	}
	c->tls = 1;
	rs_count(RS_L7_CNT_TLS_CALLS);
	return rs_process(c, call.buf, 0, bytes, call.is_write);
}

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(rs_ssl_write_enter, void *ssl, const void *buf, int num)
{
	return rs_tls_enter((__u64)ssl, (__u64)buf, 0, 1);
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(rs_ssl_read_enter, void *ssl, void *buf, int num)
{
	return rs_tls_enter((__u64)ssl, (__u64)buf, 0, 0);
}

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(rs_ssl_write_ex_enter, void *ssl, const void *buf, __u64 num, __u64 *written)
{
	return rs_tls_enter((__u64)ssl, (__u64)buf, (__u64)written, 1);
}

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(rs_ssl_read_ex_enter, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return rs_tls_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, 0);
}

/* shared by all four: the call saved at entry says which one it was. SSL_read/SSL_write return an
 * int, so only RAX's low half is theirs: -1 (an error, or "want read" during a handshake) comes as
 * 0x00000000ffffffff and would read as 4 GiB of plaintext. gnutls_record_* return ssize_t, whose
 * values (a record's size, small negative errors) survive the same narrowing. */
SEC("uretprobe")
int BPF_KRETPROBE(rs_ssl_exit, long ret)
{
	return rs_tls_exit((int)ret);
}

/* ---------------- TLS: plaintext at Go's crypto/tls ----------------
 *
 * Go binaries carry their own TLS. The agent probes crypto/tls.(*Conn).Write at entry and
 * crypto/tls.(*Conn).Read at entry and at each of its RET instructions (found in user space):
 * uretprobes break Go, whose stacks move. Go >= 1.17 passes arguments in registers (amd64:
 * receiver RAX, b.ptr RBX, b.len RCX; result n in RAX) and keeps the running goroutine in R14,
 * which keys a Read across the threads it may run on between entry and return.
 *
 * The socket: tls.Conn starts with conn net.Conn, an interface (itab, data) whose data is a
 * *net.TCPConn; that starts with *netFD, whose poll.FD has Sysfd after a 16-byte fdMutex. These
 * layouts have held across Go releases; a conn of another type reads a wrong fd, which is then
 * not a tracked socket and is ignored. */

struct rs_go_read {
	__u64 buf;
	__s64 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rs_tls_key); /* (tgid, goroutine) */
	__type(value, struct rs_go_read);
} rs_go_reads SEC(".maps");

static __always_inline __s64 rs_go_conn_fd(__u64 tls_conn)
{
	__u64 tcp_conn = 0, netfd = 0;
	__s64 fd = -1;
	if (bpf_probe_read_user(&tcp_conn, sizeof(tcp_conn), (const void *)(tls_conn + 8)) != 0 || !tcp_conn)
		return -1;
	if (bpf_probe_read_user(&netfd, sizeof(netfd), (const void *)tcp_conn) != 0 || !netfd)
		return -1;
	if (bpf_probe_read_user(&fd, sizeof(fd), (const void *)(netfd + 16)) != 0)
		return -1;
	return fd >= 0 && fd <= 0x7fffffff ? fd : -1;
}

/* The tracked connection of this process on fd, marked TLS; NULL when fd is not tracked. */
static __always_inline struct rs_l7_conn *rs_tls_conn(__s64 fd)
{
	if (fd < 0) {
		rs_count(RS_L7_CNT_TLS_UNBOUND);
		return NULL;
	}
	__u64 ck = (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | (__u32)fd;
	struct rs_l7_conn *c = bpf_map_lookup_elem(&rs_l7_conns, &ck);
	if (!c) {
		rs_count(RS_L7_CNT_TLS_UNBOUND);
		return NULL;
	}
	c->tls = 1;
	rs_count(RS_L7_CNT_TLS_CALLS);
	return c;
}

/* func (c *Conn) Write(b []byte) (int, error): the plaintext is complete at entry. */
SEC("uprobe")
int rs_go_tls_write(struct pt_regs *ctx)
{
	__u64 len = ctx->cx;
	if (len == 0)
		return 0;
	struct rs_l7_conn *c = rs_tls_conn(rs_go_conn_fd(ctx->ax));
	if (!c)
		return 0;
	return rs_process(c, ctx->bx, 0, len, 1);
}

/* func (c *Conn) Read(b []byte) (int, error), entry */
SEC("uprobe")
int rs_go_tls_read_enter(struct pt_regs *ctx)
{
	struct rs_tls_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .ssl = ctx->r14 };
	struct rs_go_read r = { .buf = ctx->bx, .fd = rs_go_conn_fd(ctx->ax) };
	bpf_map_update_elem(&rs_go_reads, &key, &r, BPF_ANY);
	return 0;
}

/* ... and at each RET of Read: n in RAX */
SEC("uprobe")
int rs_go_tls_read_return(struct pt_regs *ctx)
{
	struct rs_tls_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .ssl = ctx->r14 };
	struct rs_go_read *rp = bpf_map_lookup_elem(&rs_go_reads, &key);
	if (!rp)
		return 0;
	struct rs_go_read r = *rp;
	bpf_map_delete_elem(&rs_go_reads, &key);
	long n = (long)ctx->ax;
	if (n <= 0)
		return 0;
	struct rs_l7_conn *c = rs_tls_conn(r.fd);
	if (!c)
		return 0;
	return rs_process(c, r.buf, 0, n, 0);
}

/* ---------------- TLS: plaintext at rustls ----------------
 *
 * Rust programs carry rustls inside the executable. The agent probes the write and write_vectored
 * (an array of IoSlice, the same layout as struct iovec) of ConnectionCommon's PlaintextSink, which
 * rustls::conn::Writer calls through a vtable (or Writer::write where they are absent; see
 * agent/src/kernel/rustls-probes.ts), and <rustls::conn::Reader as std::io::Read>::read, at entry
 * (rs_rustls_enter, all of them) and at return (uretprobes: Rust stacks do not move).
 *
 * All return io::Result<usize>, which compilers hand back in one of two ways: in registers (RAX
 * the tag, 0 for Ok, RDX the count; arguments self RDI, buf RSI, len RDX), or, from older rustc
 * (1.63 in Debian 12), through a hidden pointer passed in RDI and returned in RAX (tag at +0, count
 * at +8; self RSI, buf RDX, len RCX). The entry saves RDI to RCX; the return tells the two apart,
 * as a tag is never equal to the hidden pointer.
 *
 * Neither call does socket I/O. Written plaintext is only buffered: rustls encrypts it and the
 * program writes the records out next, so it is handed on at this thread's next write to a tracked
 * socket (rs_rustls_writes), in place of the ciphertext. Read plaintext comes from records the
 * thread read just before from a socket (rs_tls_last_read). */

struct rs_rustls_call {
	__u64 rdi;
	__u64 rsi;
	__u64 rdx;
	__u64 rcx;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct rs_rustls_call);
} rs_rustls_calls SEC(".maps");

SEC("uprobe")
int rs_rustls_enter(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct rs_rustls_call call = { .rdi = ctx->di, .rsi = ctx->si, .rdx = ctx->dx, .rcx = ctx->cx };
	if (bpf_map_update_elem(&rs_rustls_calls, &id, &call, BPF_ANY) != 0)
		rs_count(RS_L7_CNT_ARGS_MAP_FULL);
	return 0;
}

/* The call this return ends: its buffer argument, the length argument after it (bytes, or IoSlices
 * for write_vectored) and the byte count of an Ok result; false otherwise. */
static __always_inline bool rs_rustls_result(struct pt_regs *ctx, __u64 *buf, __u64 *len, __u64 *n)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct rs_rustls_call *cp = bpf_map_lookup_elem(&rs_rustls_calls, &id);
	if (!cp)
		return false;
	struct rs_rustls_call call = *cp;
	bpf_map_delete_elem(&rs_rustls_calls, &id);
	__u64 ret = ctx->ax;
	if (ret == call.rdi && ret > 4096) {
		__u64 result[2] = {};
		if (bpf_probe_read_user(result, sizeof(result), (const void *)ret) != 0 || result[0] != 0)
			return false;
		*buf = call.rdx;
		*len = call.rcx;
		*n = result[1];
	} else {
		if (ret != 0)
			return false;
		*buf = call.rsi;
		*len = call.rdx;
		*n = ctx->dx;
	}
	return *n > 0 && *n <= 0x7fffffff;
}

/* Keeps written plaintext for this thread's next socket write (see rs_io_exit). */
static __always_inline void rs_rustls_stash(__u64 buf, __u64 len, __u64 iovcnt)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct rs_rustls_write w = { .buf = buf, .len = len, .iovcnt = iovcnt };
	long err = bpf_map_update_elem(&rs_rustls_writes, &id, &w, BPF_NOEXIST);
	if (err == 0) {
		__sync_fetch_and_add(&rs_rustls_unsent, 1);
	} else if (err == -RS_EEXIST) {
		/* a second write before the records of the first went out: the first is not seen */
		rs_count(RS_L7_CNT_TLS_UNBOUND);
		bpf_map_update_elem(&rs_rustls_writes, &id, &w, BPF_ANY);
	} else {
		rs_count(RS_L7_CNT_ARGS_MAP_FULL);
	}
}

SEC("uretprobe")
int rs_rustls_write_exit(struct pt_regs *ctx)
{
	__u64 buf = 0, len = 0, n = 0;
	if (rs_rustls_result(ctx, &buf, &len, &n))
		rs_rustls_stash(buf, n, 0);
	return 0;
}

SEC("uretprobe")
int rs_rustls_writev_exit(struct pt_regs *ctx)
{
	__u64 iov = 0, iovcnt = 0, n = 0;
	if (rs_rustls_result(ctx, &iov, &iovcnt, &n) && iovcnt > 0)
		rs_rustls_stash(iov, n, iovcnt);
	return 0;
}

SEC("uretprobe")
int rs_rustls_read_exit(struct pt_regs *ctx)
{
	__u64 buf = 0, len = 0, n = 0;
	if (!rs_rustls_result(ctx, &buf, &len, &n))
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *fd = bpf_map_lookup_elem(&rs_tls_last_read, &id);
	if (!fd) {
		rs_count(RS_L7_CNT_TLS_UNBOUND);
		return 0;
	}
	struct rs_l7_conn *c = rs_tls_conn((__s64)(__u32)*fd);
	if (!c)
		return 0;
	return rs_process(c, buf, 0, n, 0);
}
