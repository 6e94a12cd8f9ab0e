/* Kernel/user ABI for TCP connection events. Mirrored by agent/src/kernel/tcp-event-decoder.ts;
 * agent/test/abi.test.ts checks that sizes and offsets agree. Change both together. */
#ifndef RS_TCP_EVENTS_H
#define RS_TCP_EVENTS_H

enum rs_tcp_event_type {
	RS_TCP_CONNECT_OK = 1,   /* outbound SYN_SENT -> ESTABLISHED */
	RS_TCP_CONNECT_FAIL = 2, /* outbound SYN_SENT -> CLOSE (refused, timed out, reset) */
	RS_TCP_ACCEPT = 3,       /* inbound SYN_RECV -> ESTABLISHED on a listener */
	RS_TCP_CLOSE = 4,        /* an established connection reached CLOSE; carries byte totals */
	RS_TCP_LISTEN_OPEN = 5,  /* CLOSE -> LISTEN */
	RS_TCP_LISTEN_CLOSE = 6, /* LISTEN -> CLOSE */
	RS_TCP_RETRANSMIT = 7,   /* tcp_retransmit_skb */
};

enum rs_tcp_direction {
	RS_DIR_UNKNOWN = 0,
	RS_DIR_OUTBOUND = 1,
	RS_DIR_INBOUND = 2,
};

/* One fixed-size record per event, 120 bytes. Addresses are in network byte order;
 * IPv4 uses the first 4 bytes of saddr/daddr. Ports are host byte order. */
struct rs_tcp_event {
	__u64 timestamp_ns; /*  0: bpf_ktime_get_ns() */
	__u64 sock_id;      /*  8: kernel address of struct sock: identity of the connection */
	__u64 cgroup_id;    /* 16: v2 cgroup id of the socket's owner (sk_cgrp_data), not of current */
	__u64 duration_ns;  /* 24: connect duration for CONNECT_OK/FAIL, else 0 */
	__u64 bytes_sent;   /* 32: CLOSE: payload bytes acked by the peer (tcp_sock.bytes_acked minus SYN/FIN) */
	__u64 bytes_received; /* 40: CLOSE: payload bytes received (tcp_sock.bytes_received minus FIN) */
	__u32 pid;          /* 48: tgid of the process that called connect()/listen(); 0 when unknown */
	__u32 netns;        /* 52: network namespace inode of the socket */
	__u16 type;         /* 56: enum rs_tcp_event_type */
	__u16 family;       /* 58: AF_INET (2) or AF_INET6 (10) */
	__u16 sport;        /* 60 */
	__u16 dport;        /* 62 */
	__u8 saddr[16];     /* 64 */
	__u8 daddr[16];     /* 80 */
	__u8 direction;     /* 96: enum rs_tcp_direction */
	__u8 _pad[7];       /* 97 */
	char comm[16];      /* 104: task comm of pid (connect/listen caller): names a process that has
	                     *      already exited by the time user space looks it up; else zeros */
};                      /* size 120 */

/* Counters kept in an array map, index by enum rs_tcp_counter. */
enum rs_tcp_counter {
	RS_CNT_RINGBUF_DROPPED = 0, /* bpf_ringbuf_reserve failed: event lost */
	RS_CNT_MAP_FULL = 1,        /* a tracking map was full: connection not tracked */
	RS_CNT_MAX = 2,
};

#endif
