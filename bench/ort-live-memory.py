#!/usr/bin/env python3
"""ORT's live tensor memory over one training step, from its own profile: which tensors are alive
when, and the peak. A tensor lives from the node that makes it to its last reader in the order ORT
ran the nodes (the profile's timestamps); Reshape, Squeeze, Unsqueeze, Identity and Flatten outputs
are taken as aliases of their input (ORT's CPU kernels reuse the buffer). Sizes are the profile's
output_size per node (a Split's split evenly, other nodes' extra outputs counted as 0: LayerNorm
statistics are tiny). Approximate; it is not RSS (no allocator, no fragmentation, no JVM).

Inputs in DIR (default /tmp/bf16prof):
  f_*.json, p_*.json   java -jar troupe.jar bench step --config big --batch 4 --threads 1 --lanes 1 --warmups 0
                        --runs 1 --no-arena --no-memory-pattern --precision fp32|bf16-storage --profile DIR/f|DIR/p
  nodes-fp32.txt, nodes-bf16-storage.txt
                        TROUPE_DUMP_OPTIMIZED=DIR ./mvnw -pl worker -am verify -Dtest=OptimizedGraphDump
                        -Dsurefire.failIfNoSpecifiedTests=false (ORT's optimized graphs, node names as profiled)
"""
import json, glob, sys, collections
def run(d, prec, prof_prefix):
    ev = json.load(open(sorted(glob.glob(f'{d}/{prof_prefix}_*.json'))[-1]))
    nodes = [e for e in ev if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time')]
    order=[]; size={}; seen=set()
    for e in sorted(nodes, key=lambda e: e['ts']):
        n = e['name'][:-len('_kernel_time')]
        if n in seen: continue
        seen.add(n); order.append(n); size[n]=int(e['args'].get('output_size') or 0)
    g = {}
    for line in open(f'{d}/nodes-{prec}.txt'):
        name, op, ins, outs = line.rstrip('\n').split('|')
        g[name] = (op, [x for x in ins.split(',') if x], [x for x in outs.split(',') if x])
    missing = [n for n in order if n not in g]
    producer = {}
    for name,(op,ins,outs) in g.items():
        for o in outs: producer[o]=name
    alias_ops = {'Reshape','Squeeze','Unsqueeze','Identity','Flatten'}
    root = {}
    tsize = {}
    pos = {n:i for i,n in enumerate(order)}
    for n in order:
        if n not in g: continue
        op, ins, outs = g[n]
        if op in alias_ops and ins and ins[0] in root:
            root[outs[0]] = root[ins[0]]; tsize[outs[0]] = 0
            continue
        for k,o in enumerate(outs):
            root[o] = o
        if op in ('Split',):
            for o in outs: tsize[o] = size[n]/len(outs)
        else:
            tsize[outs[0]] = size[n]
            for o in outs[1:]: tsize[o] = 0 if op!='Split' else 0
    last = {}
    for n in order:
        if n not in g: continue
        for i in g[n][1]:
            r = root.get(i)
            if r is not None: last[r] = max(last.get(r, -1), pos[n])
    live = {}; peak=0; peak_at=None; cur=0
    frees = collections.defaultdict(list)
    for r,l in last.items(): frees[l].append(r)
    for i,n in enumerate(order):
        if n not in g: continue
        for o in g[n][2]:
            if root.get(o)==o and tsize.get(o,0)>0 and o in last:
                live[o]=tsize[o]; cur+=tsize[o]
        if cur>peak: peak=cur; peak_at=(i,n,dict(live))
        for r in frees[i]:
            if r in live: cur-=live.pop(r)
    i,n,snap = peak_at
    print(f"{prec}: {len(order)} nodes run, {len(missing)} not in graph; peak {peak/2**20:.1f} MiB at #{i} {n} ({len(snap)} tensors live)")
    kinds = collections.Counter()
    for t,s in snap.items():
        p = producer.get(t,'?'); kinds['bf16 stored' if p.startswith('bf16/') and g[p][0]=='Cast' else ('grad' if p.startswith('grad') else 'forward')] += s
    for k,v in kinds.most_common(): print(f"   {k:12s} {v/2**20:8.1f} MiB")
    big = sorted(snap.items(), key=lambda x:-x[1])[:8]
    for t,s in big: print(f"     {s/2**20:6.1f} MiB {t} <- {producer.get(t)}")
d = sys.argv[1] if len(sys.argv) > 1 else '/tmp/bf16prof'
run(d, 'fp32', 'f'); run(d, 'bf16-storage', 'p')
