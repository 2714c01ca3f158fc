"""PyTorch reference for `troupe train --arch bert` (issue 13): the same post-LayerNorm BERT MLM,
hand-written for Debian's torch 1.13 (Hugging Face `transformers` cannot run on it), trained on the
same prepared dataset with the same recipe, so its loss after N steps can be set beside Troupe's.

Same as Troupe (worker/bert/MlmBatches, model/bert/EncoderGraphs, ParameterInit, AdamW):
  rows [CLS] w_1..w_{T-2} [SEP] from windows of the train tokens (an epoch-seeded shuffle of
  non-overlapping windows, shifted by a random offset each epoch); 15% of non-special tokens chosen
  per draw, 80% [MASK] / 10% random non-special / 10% kept; training loss = sum of masked CE over
  B * 0.15 * (T-2) (the expected masked count); eval loss = mean CE over masked positions and
  masked-token top-1 accuracy, over eval_iters random val windows; GPT-2 init (N(0, 0.02),
  residual projections 0.02/sqrt(2L), LN 1/0, biases 0); AdamW (decay on 2-D weights and
  embeddings), global-norm clip, nanoGPT warm-up + cosine schedule; exact (erf) GELU, LN eps 1e-12,
  MLM head dense-GELU-LN with the decoder tied to the token embeddings.
Not the same: the random streams (masks, order, dropout), so curves agree within noise, not bitwise.

Run: LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=N \
     /usr/bin/python3 bench/bert/mlm_reference.py --data DATASET --threads N [--steps S] ...
With --time-steps K it only times K training steps (the step-speed comparison) and prints ms/step.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def load_tokens(dataset, split):
    manifest = json.load(open(os.path.join(dataset, "manifest.json")))
    dtype = np.uint16 if manifest["dtype"] == "uint16" else np.uint32
    d = os.path.join(dataset, split)
    parts = [np.fromfile(os.path.join(d, f), dtype=dtype) for f in sorted(os.listdir(d)) if f.endswith(".bin")]
    return np.concatenate(parts).astype(np.int64), manifest


def special_ids(dataset):
    tok = json.load(open(os.path.join(dataset, "tokenizer.json")))
    vocab = tok["model"]["vocab"]
    return {s: vocab[s] for s in SPECIALS if s in vocab}, len(vocab)


class Block(nn.Module):
    def __init__(self, c, nh, p):
        super().__init__()
        self.nh = nh
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_1 = nn.LayerNorm(c, eps=1e-12)
        self.c_fc = nn.Linear(c, 4 * c)
        self.m_proj = nn.Linear(4 * c, c)
        self.ln_2 = nn.LayerNorm(c, eps=1e-12)
        self.drop = nn.Dropout(p)
        self.attn_drop = nn.Dropout(p)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = [z.view(b, t, self.nh, c // self.nh).transpose(1, 2) for z in (q, k, v)]  # [B, NH, T, HS]
        att = self.attn_drop(torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(c // self.nh), dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        x = self.ln_1(x + self.drop(self.c_proj(y)))                 # post-LN, as BERT
        return self.ln_2(x + self.drop(self.m_proj(F.gelu(self.c_fc(x)))))


class BertMlm(nn.Module):
    def __init__(self, v, t, nl, nh, c, p):
        super().__init__()
        self.wte = nn.Embedding(v, c)
        self.wpe = nn.Embedding(t, c)
        self.wtt = nn.Embedding(2, c)
        self.ln_emb = nn.LayerNorm(c, eps=1e-12)
        self.drop = nn.Dropout(p)
        self.blocks = nn.ModuleList([Block(c, nh, p) for _ in range(nl)])
        self.dense = nn.Linear(c, c)
        self.ln_t = nn.LayerNorm(c, eps=1e-12)
        self.bias = nn.Parameter(torch.zeros(v))
        for name, prm in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(prm)
            elif "ln_" in name:
                nn.init.ones_(prm)
            else:
                std = 0.02 / math.sqrt(2 * nl) if name.endswith(("c_proj.weight", "m_proj.weight")) else 0.02
                nn.init.normal_(prm, 0, std)

    def forward(self, idx):
        b, t = idx.shape
        pos = torch.arange(t)
        x = self.drop(self.ln_emb(self.wte(idx) + self.wpe(pos) + self.wtt.weight[0]))
        for blk in self.blocks:
            x = blk(x)
        h = self.ln_t(F.gelu(self.dense(x)))
        return h @ self.wte.weight.t() + self.bias                      # [B, T, V]


def mask_rows(rows, ids, vocab, rng):
    """rows [B, T] of [CLS] w [SEP]: returns corrupted inputs and targets (-100 where not predicted)."""
    special = np.zeros(vocab, dtype=bool)
    special[list(ids.values())] = True
    chosen = (~special[rows]) & (rng.random(rows.shape) < 0.15)
    targets = np.where(chosen, rows, -100)
    r = rng.random(rows.shape)
    inputs = rows.copy()
    inputs[chosen & (r < 0.8)] = ids["[MASK]"]
    repl = chosen & (r >= 0.8) & (r < 0.9)
    ordinary = np.flatnonzero(~special)
    inputs[repl] = ordinary[rng.integers(0, len(ordinary), size=int(repl.sum()))]
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def make_rows(tokens, starts, t, ids):
    rows = np.empty((len(starts), t), dtype=np.int64)
    for i, s in enumerate(starts):
        rows[i, 0] = ids["[CLS]"]
        rows[i, 1:t - 1] = tokens[s:s + t - 2]
        rows[i, t - 1] = ids["[SEP]"]
    return rows


def lr_at(it, a):
    if it < a.warmup:
        return a.lr * (it + 1) / (a.warmup + 1)
    if it > a.decay:
        return a.min_lr
    ratio = (it - a.warmup) / (a.decay - a.warmup)
    return a.min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (a.lr - a.min_lr)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--decay", type=int, default=None)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--eval-interval", type=int, default=250)
    p.add_argument("--eval-iters", type=int, default=20)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--time-steps", type=int, default=0)
    p.add_argument("--vocab", type=int, default=0, help="with --time-steps and no --data: random tokens")
    a = p.parse_args()
    a.decay = a.decay or a.steps
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    ids, vocab = special_ids(a.data)
    train, _ = load_tokens(a.data, "train")
    val, _ = load_tokens(a.data, "val")
    t = a.block_size
    model = BertMlm(vocab, t, a.n_layer, a.n_head, a.n_embd, a.dropout)
    decay = [q for n, q in model.named_parameters() if q.dim() >= 2]
    no_decay = [q for n, q in model.named_parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, a.beta2), eps=1e-8)
    expected = a.batch * 0.15 * (t - 2)
    per_epoch = (len(train) - t) // t
    order, epoch, cursor = None, -1, per_epoch

    def next_batch():
        nonlocal order, epoch, cursor
        starts = []
        while len(starts) < a.batch:
            if cursor >= per_epoch:
                epoch += 1
                order = rng.permutation(per_epoch)
                shift = int(rng.integers(0, t))
                order = shift + order * t
                cursor = 0
            starts.append(order[cursor])
            cursor += 1
        return mask_rows(make_rows(train, starts, t, ids), ids, vocab, rng)

    eval_rng = np.random.default_rng(a.seed + 1)

    @torch.no_grad()
    def evaluate():
        model.eval()
        losses, hits, count = [], 0, 0
        for _ in range(a.eval_iters):
            starts = eval_rng.integers(0, len(val) - t, size=a.batch)
            x, y = mask_rows(make_rows(val, starts, t, ids), ids, vocab, eval_rng)
            logits = model(x).view(-1, vocab)
            losses.append(F.cross_entropy(logits, y.view(-1), ignore_index=-100).item())
            m = y.view(-1) != -100
            hits += (logits.argmax(-1)[m] == y.view(-1)[m]).sum().item()
            count += m.sum().item()
        model.train()
        return float(np.mean(losses)), hits / max(count, 1)

    if a.time_steps:
        x, y = next_batch()
        times = []
        for i in range(a.time_steps + 2):
            t0 = time.perf_counter()
            logits = model(x)
            loss = F.cross_entropy(logits.view(-1, vocab), y.view(-1), ignore_index=-100, reduction="sum") / expected
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            times.append(time.perf_counter() - t0)
        ms = 1000 * float(np.median(times[2:]))
        print(json.dumps({"torch_step_ms_median": ms, "threads": a.threads, "params":
                          sum(q.numel() for q in model.parameters())}))
        return

    print(json.dumps({"params": sum(q.numel() for q in model.parameters()), "vocab": vocab, "train_tokens": len(train)}))
    start = time.time()
    for step in range(1, a.steps + 1):
        if step == 1:
            vl, acc = evaluate()
            print(json.dumps({"step": 0, "val_loss": vl, "val_masked_accuracy": acc}), flush=True)
        for g in opt.param_groups:
            g["lr"] = lr_at(step - 1, a)
        x, y = next_batch()
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, vocab), y.view(-1), ignore_index=-100, reduction="sum") / expected
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        line = {"step": step, "train_loss": loss.item()}
        if step % a.eval_interval == 0 or step == a.steps:
            line["val_loss"], line["val_masked_accuracy"] = evaluate()
            line["elapsed_s"] = time.time() - start
        if step % 10 == 0 or "val_loss" in line:
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
