"""PyTorch baseline for `troupe bench step`: one training step (forward, loss, backward; no
optimizer) of a GPT of the given shape, nanoGPT-style (pre-LayerNorm blocks, GELU tanh MLP,
tied embeddings, biases), hand-written for torch 1.13 (no fused attention there).

Run with the system python (Debian's torch), matching Troupe's thread count:
  OMP_NUM_THREADS=2 LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
    /usr/bin/python3 bench/torch_gpt_step.py --layers 12 --heads 12 --embd 768 --block 1024 \
    --vocab 50304 --batch 2 --threads 2 --runs 3
Prints one JSON line: ms_per_step (median), tokens_per_s, peak_rss_mib.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, nh, t):
        super().__init__()
        self.nh = nh
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.attn_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)
        self.register_buffer("mask", torch.tril(torch.ones(t, t)).view(1, 1, t, t))

    def attention(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        hs = c // self.nh
        q = q.view(b, t, self.nh, hs).transpose(1, 2)
        k = k.view(b, t, self.nh, hs).transpose(1, 2)
        v = v.view(b, t, self.nh, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.attn_proj(y)

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, v, t, layers, nh, c):
        super().__init__()
        self.wte = nn.Embedding(v, c)
        self.wpe = nn.Embedding(t, c)
        self.blocks = nn.ModuleList([Block(c, nh, t) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(c)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--embd", type=int, default=768)
    p.add_argument("--block", type=int, default=1024)
    p.add_argument("--vocab", type=int, default=50304)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmups", type=int, default=1)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Gpt(a.vocab, a.block, a.layers, a.heads, a.embd)
    idx = torch.randint(a.vocab, (a.batch, a.block))
    targets = torch.randint(a.vocab, (a.batch, a.block))
    times = []
    for i in range(a.warmups + a.runs):
        start = time.perf_counter()
        model.zero_grad(set_to_none=True)
        model(idx, targets).backward()
        if i >= a.warmups:
            times.append((time.perf_counter() - start) * 1000)
    ms = statistics.median(times)
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "batch": a.batch, "ms_per_step": round(ms, 1),
                      "runs_ms": [round(x, 1) for x in times], "tokens_per_s": round(a.batch * a.block / (ms / 1000), 1),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
