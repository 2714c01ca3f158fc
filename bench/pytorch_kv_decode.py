#!/usr/bin/env python3
"""PyTorch baseline for `troupe bench decode`: one sequence decoded token by token with a KV cache.

A minimal GPT (GPT-2 layout: learned positions, pre-LayerNorm blocks, GELU MLP, tied embeddings,
biases) with random weights, written here rather than taken from Hugging Face, because the
`transformers` that pip serves cannot use Debian's torch 1.13. It times what Troupe's
DecodeBenchmark times: a prompt of (context - steps) tokens is prefilled, then `steps` single-token
steps that end at `context` are timed one by one; the median is ms per token. Weights do not
matter for speed.

Run with the system python that has torch, threads matched to Troupe's --threads:
  OMP_NUM_THREADS=2 LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
      /usr/bin/python3 bench/pytorch_kv_decode.py --config gpt2 --context 256 --threads 2
Prints one JSON line.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
from torch.nn import functional as F

# name: (n_layer, n_head, n_embd, block_size, vocab_size), as in Troupe's bench decode --config.
SHAPES = {
    "small": (4, 4, 128, 64, 65),      # shakespeare-char-small
    "big": (6, 6, 384, 256, 65),       # shakespeare-char
    "gpt2": (12, 12, 768, 1024, 50257),  # GPT-2 124M
}


class Block(nn.Module):
    def __init__(self, n_head, n_embd):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(n_embd)
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.mlp_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x, past):
        # x [B, S, C]; past (k, v) each [B, NH, P, HS] or None
        b, s, c = x.shape
        hs = c // self.n_head
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q = q.view(b, s, self.n_head, hs).transpose(1, 2)  # [B, NH, S, HS]
        k = k.view(b, s, self.n_head, hs).transpose(1, 2)
        v = v.view(b, s, self.n_head, hs).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # [B, NH, P + S, HS]
            v = torch.cat([past[1], v], dim=2)
        p = k.shape[2] - s
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # [B, NH, S, P + S]
        if s > 1:
            causal = torch.ones(s, p + s, dtype=torch.bool).tril(diagonal=p)
            att = att.masked_fill(~causal, float("-inf"))
        y = F.softmax(att, dim=-1) @ v  # [B, NH, S, HS]
        y = y.transpose(1, 2).contiguous().view(b, s, c)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, (k, v)


class Gpt(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, block_size, vocab_size):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.blocks = nn.ModuleList(Block(n_head, n_embd) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)

    def forward(self, ids, start, past):
        # ids [B, S] at positions start..start+S-1; past: one (k, v) per layer or None
        positions = torch.arange(start, start + ids.shape[1])
        x = self.wte(ids) + self.wpe(positions)
        present = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, None if past is None else past[i])
            present.append(kv)
        logits = self.ln_f(x[:, -1:, :]) @ self.wte.weight.t()  # [B, 1, V], tied embeddings
        return logits, present


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(SHAPES), default="gpt2")
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--tokens", type=int, default=16, help="timed steps, ending at --context")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    n_layer, n_head, n_embd, block_size, vocab_size = SHAPES[args.config]
    context = min(args.context, block_size)
    steps = min(args.tokens, context - 1)
    model = Gpt(n_layer, n_head, n_embd, block_size, vocab_size).eval()
    prompt = torch.randint(vocab_size, (1, context - steps))
    with torch.inference_mode():
        # Warm-up, untimed: the allocator and the kernels' first calls.
        _, past = model(prompt, 0, None)
        for i in range(2):
            _, past = model(torch.randint(vocab_size, (1, 1)), prompt.shape[1] + i, past)
        started = time.perf_counter()
        logits, past = model(prompt, 0, None)
        prefill_ms = (time.perf_counter() - started) * 1e3
        ms = []
        for i in range(steps):
            token = logits[:, -1, :].argmax(dim=-1, keepdim=True)  # greedy, as a decode loop would
            started = time.perf_counter()
            logits, past = model(token, prompt.shape[1] + i, past)
            ms.append((time.perf_counter() - started) * 1e3)
    print(json.dumps({"implementation": "pytorch " + torch.__version__, "config": args.config, "threads": args.threads,
                      "context": context, "prompt_tokens": prompt.shape[1], "prefill_ms": round(prefill_ms, 2),
                      "steps": steps, "median_ms_per_token": round(statistics.median(ms), 3),
                      "mean_ms_per_token": round(statistics.fmean(ms), 3)}))


if __name__ == "__main__":
    main()
