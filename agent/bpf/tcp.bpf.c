// SPDX-License-Identifier: GPL-2.0
/* TCP connection lifecycle events from tracepoints only (no kprobes/fentry).
 *
 * sock/inet_sock_set_state often fires in softirq context on behalf of another task, so
 * everything that identifies the owner (cgroup, netns) is read from the socket itself.
 * The pid is only known where the transition runs in the caller's context: connect()
 * (CLOSE -> SYN_SENT) and listen() (CLOSE -> LISTEN). It is remembered per socket. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcp_events.h"
#include "counters.h"

char LICENSE[] SEC("license") = "GPL";

#define RS_AF_INET 2
#define RS_AF_INET6 10
#define RS_IPPROTO_TCP 6

/* include/net/tcp_states.h */
enum {
	RS_TCPS_ESTABLISHED = 1,
	RS_TCPS_SYN_SENT = 2,
	RS_TCPS_SYN_RECV = 3,
	RS_TCPS_FIN_WAIT1 = 4,
	RS_TCPS_FIN_WAIT2 = 5,
	RS_TCPS_CLOSE = 7,
	RS_TCPS_LAST_ACK = 9,
	RS_TCPS_LISTEN = 10,
	RS_TCPS_CLOSING = 11,
};

/* Kernels before 6.11 kept sk_flags in struct sock; newer ones in sock_common (skc_flags). */
struct sock___rs_old {
	unsigned long sk_flags;
} __attribute__((preserve_access_index));

struct rs_connecting {
	__u64 start_ns;
	__u32 pid;
	__u32 _pad;
	char comm[16];
};

struct rs_tracked {
	__u32 pid;
	__u8 direction;
	__u8 _pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} rs_tcp_events SEC(".maps");

/* Sockets between connect() and the handshake result. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, struct rs_connecting);
} rs_tcp_connecting SEC(".maps");

/* Established connections we emitted CONNECT_OK/ACCEPT for, so CLOSE is emitted exactly once. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, __u64);
	__type(value, struct rs_tracked);
} rs_tcp_tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rs_tcp_counters SEC(".maps");

static __always_inline void rs_count(__u32 idx)
{
	rs_inc(&rs_tcp_counters, idx);
}

static __always_inline struct rs_tcp_event *rs_reserve(void)
{
	struct rs_tcp_event *e = bpf_ringbuf_reserve(&rs_tcp_events, sizeof(*e), 0);
	if (!e) {
		rs_count(RS_CNT_RINGBUF_DROPPED);
		return NULL;
	}
	/* ringbuf memory is not zeroed; every byte reaches user space */
	__builtin_memset(e, 0, sizeof(*e));
	return e;
}

/* Wake user space only once a good amount of data waits: it also drains on its own timer, so a
 * busy host costs about a hundred wakeups a second instead of one per event. */
#define RS_WAKEUP_BYTES (256 * 1024)

static __always_inline void rs_submit(struct rs_tcp_event *e)
{
	__u64 waiting = bpf_ringbuf_query(&rs_tcp_events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(e, waiting >= RS_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* Owner identity from the socket: v2 cgroup id and netns inode. */
static __always_inline void rs_fill_owner(struct rs_tcp_event *e, struct sock *sk)
{
	e->sock_id = (__u64)(unsigned long)sk;
	e->cgroup_id = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* Addresses and ports from the socket itself (used where the tracepoint carries none that
 * is stable across kernel versions). */
static __always_inline void rs_fill_addrs_from_sock(struct rs_tcp_event *e, struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->family = family;
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* explicit sizes: BPF_CORE_READ_INTO into a byte array copies sizeof(*array) = 1 byte */
	if (family == RS_AF_INET) {
		bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == RS_AF_INET6) {
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* Copies of the tracepoint fields we need: reading the ctx through helpers avoids the
 * "dereference of modified ctx ptr" verifier error for array fields. */
struct rs_state_args {
	__u64 sk;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
};

static __always_inline void rs_fill_addrs_from_tp(struct rs_tcp_event *e,
						   struct trace_event_raw_inet_sock_set_state *ctx,
						   const struct rs_state_args *a)
{
	e->family = a->family;
	e->sport = a->sport;
	e->dport = a->dport;
	if (a->family == RS_AF_INET) {
		bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
	}
}

/* Payload bytes of a closing connection. tcp_sock.bytes_acked and bytes_received count
 * sequence space, which includes control flags: the SYN we sent (active opener only; the
 * passive side's child socket starts past its SYN-ACK), our FIN once acked, and the peer's FIN
 * once received. Take them out so the totals equal what the applications wrote and read. */
static __always_inline void rs_fill_payload_bytes(struct rs_tcp_event *e, struct sock *sk,
						  int oldstate, __u8 direction)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u64 acked = BPF_CORE_READ(tp, bytes_acked);
	__u64 received = BPF_CORE_READ(tp, bytes_received);
	__u64 control = 0;

	if (direction == RS_DIR_OUTBOUND)
		control++; /* our SYN */
	/* our FIN was sent in these states; it is acked when nothing remains unacknowledged */
	if (oldstate == RS_TCPS_FIN_WAIT1 || oldstate == RS_TCPS_FIN_WAIT2 ||
	    oldstate == RS_TCPS_CLOSING || oldstate == RS_TCPS_LAST_ACK) {
		if (BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
			control++;
	}
	e->bytes_sent = acked > control ? acked - control : 0;

	/* SOCK_DONE is set by tcp_fin() when the peer's FIN is processed in order,
	 * which is exactly when it advanced rcv_nxt (and bytes_received). */
	unsigned long flags;
	if (bpf_core_field_exists(sk->__sk_common.skc_flags))
		flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	else
		flags = BPF_CORE_READ((struct sock___rs_old *)sk, sk_flags);
	if ((flags >> bpf_core_enum_value(enum sock_flags, SOCK_DONE)) & 1)
		received = received > 0 ? received - 1 : 0;
	e->bytes_received = received;
}

static __always_inline void rs_emit_state(struct trace_event_raw_inet_sock_set_state *ctx,
					  const struct rs_state_args *a, __u16 type, __u32 pid,
					  __u8 direction, __u64 duration_ns, bool with_bytes,
					  const char *comm, bool current_comm)
{
	struct sock *sk = (struct sock *)(unsigned long)a->sk;
	struct rs_tcp_event *e = rs_reserve();
	if (!e)
		return;
	e->timestamp_ns = bpf_ktime_get_ns();
	rs_fill_owner(e, sk);
	rs_fill_addrs_from_tp(e, ctx, a);
	e->type = type;
	e->pid = pid;
	e->direction = direction;
	e->duration_ns = duration_ns;
	if (with_bytes)
		rs_fill_payload_bytes(e, sk, a->oldstate, direction);
	if (current_comm)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	else if (comm)
		bpf_probe_read_kernel(e->comm, sizeof(e->comm), comm);
	rs_submit(e);
}

static __always_inline void rs_track(__u64 key, __u32 pid, __u8 direction)
{
	struct rs_tracked t = { .pid = pid, .direction = direction };
	if (bpf_map_update_elem(&rs_tcp_tracked, &key, &t, BPF_ANY) != 0)
		rs_count(RS_CNT_MAP_FULL);
}

SEC("tracepoint/sock/inet_sock_set_state")
int rs_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct rs_state_args a = {};

	if (ctx->protocol != RS_IPPROTO_TCP)
		return 0;
	a.sk = (__u64)(unsigned long)ctx->skaddr;
	a.oldstate = ctx->oldstate;
	a.newstate = ctx->newstate;
	a.sport = ctx->sport;
	a.dport = ctx->dport;
	a.family = ctx->family;
	__u64 key = a.sk;

	if (a.newstate == RS_TCPS_SYN_SENT) {
		/* connect(): process context, current is the caller */
		struct rs_connecting c = {
			.start_ns = bpf_ktime_get_ns(),
			.pid = bpf_get_current_pid_tgid() >> 32,
		};
		bpf_get_current_comm(c.comm, sizeof(c.comm));
		if (bpf_map_update_elem(&rs_tcp_connecting, &key, &c, BPF_ANY) != 0)
			rs_count(RS_CNT_MAP_FULL);
		return 0;
	}

	if (a.oldstate == RS_TCPS_SYN_SENT) {
		struct rs_connecting *c = bpf_map_lookup_elem(&rs_tcp_connecting, &key);
		struct rs_connecting saved = {};
		__u64 duration = 0;
		if (c) {
			saved = *c;
			duration = bpf_ktime_get_ns() - c->start_ns;
			bpf_map_delete_elem(&rs_tcp_connecting, &key);
		}
		__u32 pid = saved.pid;
		if (a.newstate == RS_TCPS_ESTABLISHED) {
			rs_emit_state(ctx, &a, RS_TCP_CONNECT_OK, pid, RS_DIR_OUTBOUND, duration, false, saved.comm, false);
			rs_track(key, pid, RS_DIR_OUTBOUND);
		} else if (a.newstate == RS_TCPS_CLOSE) {
			rs_emit_state(ctx, &a, RS_TCP_CONNECT_FAIL, pid, RS_DIR_OUTBOUND, duration, false, saved.comm, false);
		} else if (a.newstate == RS_TCPS_SYN_RECV && c) {
			/* simultaneous open: keep waiting for ESTABLISHED */
			saved.start_ns = bpf_ktime_get_ns() - duration;
			bpf_map_update_elem(&rs_tcp_connecting, &key, &saved, BPF_ANY);
		}
		return 0;
	}

	if (a.oldstate == RS_TCPS_SYN_RECV && a.newstate == RS_TCPS_ESTABLISHED) {
		struct rs_connecting *c = bpf_map_lookup_elem(&rs_tcp_connecting, &key);
		if (c) { /* end of a simultaneous open */
			struct rs_connecting saved = *c;
			__u64 duration = bpf_ktime_get_ns() - c->start_ns;
			bpf_map_delete_elem(&rs_tcp_connecting, &key);
			__u32 pid = saved.pid;
			rs_emit_state(ctx, &a, RS_TCP_CONNECT_OK, pid, RS_DIR_OUTBOUND, duration, false, saved.comm, false);
			rs_track(key, pid, RS_DIR_OUTBOUND);
			return 0;
		}
		/* server side of accept, softirq: the owner is resolved in user space */
		rs_emit_state(ctx, &a, RS_TCP_ACCEPT, 0, RS_DIR_INBOUND, 0, false, NULL, false);
		rs_track(key, 0, RS_DIR_INBOUND);
		return 0;
	}

	if (a.newstate == RS_TCPS_LISTEN) {
		rs_emit_state(ctx, &a, RS_TCP_LISTEN_OPEN, bpf_get_current_pid_tgid() >> 32,
			      RS_DIR_UNKNOWN, 0, false, NULL, true);
		return 0;
	}

	if (a.newstate == RS_TCPS_CLOSE) {
		if (a.oldstate == RS_TCPS_LISTEN) {
			rs_emit_state(ctx, &a, RS_TCP_LISTEN_CLOSE, bpf_get_current_pid_tgid() >> 32,
				      RS_DIR_UNKNOWN, 0, false, NULL, true);
			return 0;
		}
		struct rs_tracked *t = bpf_map_lookup_elem(&rs_tcp_tracked, &key);
		if (!t)
			return 0;
		__u32 pid = t->pid;
		__u8 dir = t->direction;
		bpf_map_delete_elem(&rs_tcp_tracked, &key);
		rs_emit_state(ctx, &a, RS_TCP_CLOSE, pid, dir, 0, true, NULL, false);
	}
	return 0;
}

/* Only the leading fields, whose layout has been stable for years (4.15+):
 * the rest of the record changed across versions, so addresses come from the socket. */
struct rs_tcp_retransmit_args {
	__u64 common;
	const void *skbaddr;
	const void *skaddr;
};

SEC("tracepoint/tcp/tcp_retransmit_skb")
int rs_tcp_retransmit_skb(struct rs_tcp_retransmit_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->skaddr;
	if (!sk)
		return 0;
	struct rs_tcp_event *e = rs_reserve();
	if (!e)
		return 0;
	__u64 key = (__u64)(unsigned long)sk;
	struct rs_tracked *t = bpf_map_lookup_elem(&rs_tcp_tracked, &key);
	e->timestamp_ns = bpf_ktime_get_ns();
	rs_fill_owner(e, sk);
	rs_fill_addrs_from_sock(e, sk);
	e->type = RS_TCP_RETRANSMIT;
	if (t) {
		e->pid = t->pid;
		e->direction = t->direction;
	}
	rs_submit(e);
	return 0;
}
