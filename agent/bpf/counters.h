/* Counting in per-CPU u64 array maps, shared by tcp.bpf.c and l7.bpf.c: each CPU owns its slot,
 * so a plain increment is exact; user space sums the CPUs (BpfObject.readCounters). */
#ifndef RS_COUNTERS_H
#define RS_COUNTERS_H

static __always_inline void rs_add(void *counters, __u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(counters, &idx);
	if (v)
		*v += n;
}

static __always_inline void rs_inc(void *counters, __u32 idx)
{
	rs_add(counters, idx, 1);
}

#endif
