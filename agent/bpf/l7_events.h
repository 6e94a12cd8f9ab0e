/* Kernel/user ABI for L7 (application protocol) events. Mirrored by
 * agent/src/kernel/l7-event-decoder.ts; agent/test/abi-l7.test.ts checks that sizes, offsets and
 * constants agree. Change both together.
 *
 * Every record is a fixed 120-byte header followed by payload bytes:
 *   [struct rs_l7_event][request_len bytes][response_len bytes]
 * The record length the ring buffer reports is 120 + request_len + response_len. */
#ifndef RS_L7_EVENTS_H
#define RS_L7_EVENTS_H

enum rs_l7_event_kind {
	RS_L7_EV_REQUEST = 1,     /* a request paired with the first chunk of its response */
	RS_L7_EV_HTTP2_CHUNK = 2, /* raw bytes written or read on an HTTP/2 connection (no pairing) */
	RS_L7_EV_MESSAGE = 3,     /* NATS/RabbitMQ publish (io=write) or delivery (io=read): no response */
	RS_L7_EV_CONN_CLOSE = 4,  /* close() of a tracked socket: byte totals of this connection */
};

enum rs_l7_protocol {
	RS_L7_UNKNOWN = 0,
	RS_L7_HTTP = 1,
	RS_L7_HTTP2 = 2,
	RS_L7_POSTGRES = 3,
	RS_L7_MYSQL = 4,
	RS_L7_REDIS = 5,
	RS_L7_MEMCACHED = 6,
	RS_L7_MONGO = 7,
	RS_L7_KAFKA = 8,
	RS_L7_RABBITMQ = 9,
	RS_L7_NATS = 10,
	RS_L7_DNS = 11,
	RS_L7_CLICKHOUSE = 12,
	RS_L7_CASSANDRA = 13,
};

/* Direction of the connection (same values as enum rs_tcp_direction). */
enum rs_l7_direction {
	RS_L7_DIR_UNKNOWN = 0,
	RS_L7_DIR_OUTBOUND = 1, /* connect()ed, or first seen on a send* */
	RS_L7_DIR_INBOUND = 2,  /* accept()ed, or first seen on a recv* */
};

/* What this process did with the bytes of an HTTP2_CHUNK or MESSAGE. */
enum rs_l7_io {
	RS_L7_IO_WRITE = 1,
	RS_L7_IO_READ = 2,
};

/* rs_l7_event.flags */
#define RS_L7_F_TLS 1 /* the connection is TLS; the bytes were read at SSL_read/SSL_write */
#define RS_L7_F_UNANSWERED 2 /* CONN_CLOSE: a request of this protocol was still waiting for its response */
#define RS_L7_F_OPENED 4 /* tracked from its connect()/accept(), so the TCP tracer saw it open (not older than the agent) */

#define RS_L7_NO_STREAM 0xffffffffu
#define RS_L7_MAX_REQUEST 1024  /* request bytes kept (iovecs concatenated) */
#define RS_L7_MAX_RESPONSE 512  /* response bytes kept */
#define RS_L7_MAX_CHUNK 4096    /* HTTP/2 chunk bytes kept */

struct rs_l7_event {
	__u64 timestamp_ns;   /*  0: bpf_ktime_get_ns() at the exit of the response syscall (REQUEST), else of the syscall */
	__u64 duration_ns;    /*  8: REQUEST: response exit - request exit; else 0 */
	__u64 sock_id;        /* 16: kernel address of struct sock (equals rs_tcp_event.sock_id for TCP) */
	__u64 conn_start_ns;  /* 24: when this (pid, fd) connection was first tracked: tells fd generations apart */
	__u64 cgroup_id;      /* 32: v2 cgroup id of the connection's owner when tracking began (syscall context) */
	__u64 request_size;   /* 40: REQUEST: bytes of the request syscall; CHUNK/MESSAGE: bytes of the syscall this
	                       *     event stands for (a long syscall is split into several events, see rs_emit_data) */
	__u64 response_size;  /* 48: REQUEST: bytes of the first response syscall */
	__u64 bytes_sent;     /* 56: CONN_CLOSE: bytes written on this fd while tracked */
	__u64 bytes_received; /* 64: CONN_CLOSE: bytes read on this fd while tracked */
	__u32 pid;            /* 72: tgid */
	__u32 fd;             /* 76 */
	__u32 stream_id;      /* 80: DNS query id, Cassandra stream; RS_L7_NO_STREAM otherwise; conn_close: requests left unanswered */
	__u16 request_len;    /* 84: payload bytes following the header (REQUEST: request; CHUNK/MESSAGE: the data) */
	__u16 response_len;   /* 86: response bytes following the request bytes */
	__u8 kind;            /* 88: enum rs_l7_event_kind */
	__u8 protocol;        /* 89: enum rs_l7_protocol */
	__u8 direction;       /* 90: enum rs_l7_direction */
	__u8 io;              /* 91: enum rs_l7_io for CHUNK/MESSAGE */
	__u8 sock_type;       /* 92: 1 SOCK_STREAM, 2 SOCK_DGRAM */
	__u8 flags;           /* 93: RS_L7_F_* */
	__u16 peer_port;      /* 94: the other end's port, host order (0: not connected, e.g. unconnected UDP) */
	__u8 peer_addr[16];   /* 96: the other end's address: 4 bytes for AF_INET, 16 for AF_INET6 */
	__u16 peer_family;    /* 112: AF_INET, AF_INET6, or 0 when unknown */
	__u16 local_port;     /* 114: this end's port, host order (names a connection older than the agent, with the peer) */
	__u8 _pad[4];         /* 116 */
};                        /* size 120 */

/* Counters kept in a per-CPU array map (rs_l7_counters), indexed by enum rs_l7_counter. */
enum rs_l7_counter {
	RS_L7_CNT_RINGBUF_DROPPED = 0,    /* bpf_ringbuf_output failed: event lost */
	RS_L7_CNT_CONN_MAP_FULL = 1,      /* socket not tracked: connection map update failed */
	RS_L7_CNT_PENDING_MAP_FULL = 2,   /* request not stored: pending map update failed */
	RS_L7_CNT_ARGS_MAP_FULL = 3,      /* SSL call not traced: per-thread TLS call map full */
	RS_L7_CNT_REQUEST_OVERLAP = 4,    /* request written while one was pending on the same key (pipelining): never paired */
	RS_L7_CNT_REQUEST_EVICTED = 5,    /* pending request dropped without a response (close, fd reuse, stale generation) */
	RS_L7_CNT_REQUEST_TRUNCATED = 6,  /* request longer than RS_L7_MAX_REQUEST */
	RS_L7_CNT_RESPONSE_TRUNCATED = 7, /* response chunk longer than RS_L7_MAX_RESPONSE */
	RS_L7_CNT_CHUNK_TRUNCATED = 8,    /* HTTP/2 chunk longer than RS_L7_MAX_CHUNK */
	RS_L7_CNT_REQUEST_EVENTS = 9,     /* REQUEST events submitted */
	RS_L7_CNT_CHUNK_EVENTS = 10,      /* HTTP2_CHUNK events submitted */
	RS_L7_CNT_TLS_CALLS = 11,         /* SSL_read/SSL_write returns handed to the pairing code */
	RS_L7_CNT_TLS_UNBOUND = 12,       /* SSL_read/SSL_write with data whose socket was not known */
	RS_L7_CNT_MAX = 13,
};

/* Loss accounting by protocol, in two more per-CPU u64 arrays (enum rs_l7_protocol has < 16 codes).
 *   rs_l7_unanswered[(reason * RS_L7_DIRECTIONS + direction) * RS_L7_PROTOCOL_SLOTS + protocol]:
 *     requests seen but never paired with a response, by why (enum rs_l7_unanswered_reason);
 *   rs_l7_ringbuf_lost[kind * RS_L7_PROTOCOL_SLOTS + protocol]:
 *     events the ring buffer could not take, by enum rs_l7_event_kind. */
enum rs_l7_unanswered_reason {
	RS_L7_UNANSWERED_CONN_CLOSED = 0, /* close() of the connection while the request was pending */
	RS_L7_UNANSWERED_FD_REUSED = 1,   /* the fd became another socket without a close() we saw */
	RS_L7_UNANSWERED_STALE = 2,       /* pending from an earlier connection on the same fd, found later */
	RS_L7_UNANSWERED_PIPELINED = 3,   /* sent while another request was pending: its response is not paired */
	RS_L7_UNANSWERED_NOT_STORED = 4,  /* the pending map had no room */
	RS_L7_UNANSWERED_PROCESS_EXITED = 5, /* the process died (or exited without close()) while the request was pending */
	RS_L7_UNANSWERED_EVICTED = 6,     /* the full pending map dropped it for a newer one (LRU); found missing later */
	RS_L7_UNANSWERED_REASONS = 7,
};
#define RS_L7_DIRECTIONS 3
#define RS_L7_PROTOCOL_SLOTS 16
#define RS_L7_EVENT_KINDS 8

#endif
