#!/usr/bin/env python3
"""PyTorch baseline for `troupe train-seq2seq`: the same encoder-decoder, data, batches and
optimizer, built on torch.nn.Transformer, for step time and BLEU at equal steps.

What is the same as Troupe (worker Seq2SeqRun on WorkerJob, Seq2SeqBatch, model seq2seq.Seq2SeqForward / Seq2SeqInit):
- Data: the prepared dataset's own files (uint16 ids, offsets.bin = source then target int64
  offsets), no re-tokenisation. Special ids from manifest.json.
- Batches: the same rows in the same order. LengthBucketSampler is reproduced exactly
  (java.util.Random's LCG, Collections.shuffle, a stable sort by (source, target) length in pools
  of 100 batches, seed * 1000003 + epoch), and so is Batch.of: every batch has --batch-size rows
  (filler rows: one pad source token, no target), each side padded up to the ladder 8, 16, 24, 32,
  48, 64 (capped at --max-len), decoder input BOS + target, targets target + EOS, -100 on padding.
  Each step prints its shape; the driver checks that both sides saw the same shapes.
- Model: pre-LayerNorm blocks (norm_first=True) with a final LayerNorm after each stack, GELU
  (tanh form), biases everywhere, learned positions per side added to one shared token embedding,
  no sqrt(C) scaling, tied output projection (logits = x @ wte^T, no bias), dropout on the
  embeddings, the attention probabilities and each residual branch's output, LayerNorm eps 1e-5.
- Loss: cross-entropy with label smoothing over the V classes, mean over real target tokens
  (Troupe's CE + eps * (z_y - mean z) is the same quantity).
- Init: N(0, 0.02) for every matrix and embedding, N(0, 0.02 / sqrt(2 * (enc + dec layers))) for
  every output projection (attention, cross-attention and MLP c_proj), zero biases, LayerNorm 1/0.
- AdamW (0.9, 0.98, eps 1e-8, weight decay 0.01 on tensors of >= 2 dims only), linear warm-up to
  --lr then cosine decay to 0.1 x, global-norm clipping at 1.

Differences that remain: torch.nn.TransformerEncoderLayer/DecoderLayer also drop out the MLP's
hidden activations; that Dropout is replaced by the identity here, as Troupe has none. Random
streams differ (init values, dropout masks), so the two runs are alike in distribution, not
bit-equal. clip_grad_norm_ divides by (norm + 1e-6), Troupe by norm. Troupe skips the update of a
step whose loss is not finite; this script does not.

Run with Debian's torch (python3-torch 1.13, OpenBLAS with OpenMP), threads as Troupe's --threads:
  OMP_NUM_THREADS=2 LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \\
    /usr/bin/python3 bench/seq2seq/pytorch_seq2seq.py --data /tmp/s2s/pairs --steps 60 --threads 2
Prints one JSON line: per-step milliseconds and shapes, median over steps after --skip, losses.
With --hyps DIR it then translates the test split greedily (as `troupe eval --task translate
--data DATASET` does: the same pairs, --limit evenly spaced, sources cut to --max-len, at most
--max-len - 1 tokens, stop at EOS) and writes DIR/src.txt, DIR/ref.txt, DIR/hyp.txt; with
sacrebleu importable it adds BLEU and chrF. Data: www.manythings.org/anki and tatoeba.org.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LENGTH_LADDER = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
IGNORE = -100


# ---- java.util.Random and Collections.shuffle, so the batch order is Troupe's ----

class JavaRandom:
    MULT = 0x5DEECE66D
    MASK = (1 << 48) - 1

    def __init__(self, seed):
        self.seed = (seed ^ self.MULT) & self.MASK

    def next_bits(self, bits):
        self.seed = (self.seed * self.MULT + 0xB) & self.MASK
        r = self.seed >> (48 - bits)
        return r - (1 << 32) if r >= 1 << 31 else r

    def next_int(self, bound):
        r = self.next_bits(31)
        m = bound - 1
        if bound & m == 0:
            return (bound * r) >> 31
        u = r
        while True:
            r = u % bound
            if u - r + m < 1 << 31:  # Java: the int sum u - r + m did not overflow
                return r
            u = self.next_bits(31)


def java_shuffle(items, rnd):
    for i in range(len(items), 1, -1):
        j = rnd.next_int(i)
        items[i - 1], items[j] = items[j], items[i - 1]


def sampler_epoch(src_lens, tgt_lens, batch_size, pool_batches, seed, epoch):
    """LengthBucketSampler.epoch: lists of example indices."""
    n = len(src_lens)
    order = list(range(n))
    rnd = JavaRandom((seed * 1_000_003 + epoch) & 0xFFFFFFFFFFFFFFFF)
    java_shuffle(order, rnd)
    pool = batch_size * pool_batches
    batches = []
    start = 0
    while start < n:
        end = min(n, start + pool)
        # Arrays.sort of objects is a stable merge sort, as is Python's sort.
        order[start:end] = sorted(order[start:end], key=lambda i: (src_lens[i], tgt_lens[i]))
        for b in range(start, end, batch_size):
            batches.append(order[b:min(b + batch_size, end)])
        start = end
    java_shuffle(batches, rnd)
    return batches


# ---- the prepared pairs dataset (PairDataset's on-disk format) ----

class Split:
    def __init__(self, directory, dtype):
        self.src = np.fromfile(os.path.join(directory, "source.bin"), dtype=dtype).astype(np.int64)
        self.tgt = np.fromfile(os.path.join(directory, "target.bin"), dtype=dtype).astype(np.int64)
        off = np.fromfile(os.path.join(directory, "offsets.bin"), dtype="<i8")
        half = len(off) // 2
        self.src_off, self.tgt_off = off[:half], off[half:]
        assert self.src_off[-1] == len(self.src) and self.tgt_off[-1] == len(self.tgt), directory

    def __len__(self):
        return len(self.src_off) - 1

    def source(self, i):
        return self.src[self.src_off[i]:self.src_off[i + 1]]

    def target(self, i):
        return self.tgt[self.tgt_off[i]:self.tgt_off[i + 1]]

    def source_lengths(self):
        return np.diff(self.src_off).tolist()

    def target_lengths(self):
        return np.diff(self.tgt_off).tolist()


def padded(n):
    for step in LENGTH_LADDER:
        if step >= n:
            return step
    return n


def make_batch(split, rows, batch_rows, max_len, bos, eos, pad):
    """Seq2SeqBatch.of (was Seq2SeqTrainer.Batch.of): (src [B,S], src_lengths [B], tgt_in [B,T], targets [B,T])."""
    max_s = max([1] + [min(max_len, len(split.source(r))) for r in rows])
    max_t = max([1] + [min(max_len, len(split.target(r)) + 1) for r in rows])
    s = min(max_len, padded(max_s))
    t = min(max_len, padded(max_t))
    src = np.full((batch_rows, s), pad, dtype=np.int64)
    lengths = np.ones(batch_rows, dtype=np.int64)  # filler rows: one pad token, nothing to predict
    tgt_in = np.full((batch_rows, t), pad, dtype=np.int64)
    targets = np.full((batch_rows, t), IGNORE, dtype=np.int64)
    for i, r in enumerate(rows):
        source = split.source(r)
        n = max(1, min(s, len(source)))
        src[i, :min(n, len(source))] = source[:n]
        lengths[i] = n
        target = split.target(r)
        m = min(t - 1, len(target))
        tgt_in[i, 0] = bos
        tgt_in[i, 1:m + 1] = target[:m]
        targets[i, :m] = target[:m]
        targets[i, m] = eos
    return (torch.from_numpy(src), torch.from_numpy(lengths), torch.from_numpy(tgt_in),
            torch.from_numpy(targets))


# ---- the model ----

def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class Seq2Seq(nn.Module):
    def __init__(self, vocab, max_len, enc_layers, dec_layers, heads, width, dropout):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.enc_wpe = nn.Embedding(max_len, width)
        self.dec_wpe = nn.Embedding(max_len, width)
        self.drop = nn.Dropout(dropout)
        self.transformer = nn.Transformer(
            d_model=width, nhead=heads, num_encoder_layers=enc_layers, num_decoder_layers=dec_layers,
            dim_feedforward=4 * width, dropout=dropout, activation=gelu_tanh, layer_norm_eps=1e-5,
            batch_first=True, norm_first=True)
        layers = list(self.transformer.encoder.layers) + list(self.transformer.decoder.layers)
        for layer in layers:
            layer.dropout = nn.Identity()  # the MLP's hidden dropout, which Troupe does not have
        self.init_like_troupe(enc_layers + dec_layers)

    def init_like_troupe(self, depth):
        residual = 0.02 / math.sqrt(2.0 * depth)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() == 1:
                    (p.fill_(1.0) if "norm" in name and name.endswith("weight") else p.zero_())
                elif name.endswith("out_proj.weight") or name.endswith("linear2.weight"):
                    p.normal_(0.0, residual)
                else:
                    p.normal_(0.0, 0.02)

    def encode(self, src, src_pad):
        # src [B, S]; src_pad [B, S] True on padding
        steps = torch.arange(src.shape[1]).unsqueeze(0)
        x = self.drop(self.wte(src) + self.enc_wpe(steps))                        # [B, S, C]
        return self.transformer.encoder(x, src_key_padding_mask=src_pad)           # [B, S, C]

    def decode(self, tgt_in, memory, src_pad):
        t = tgt_in.shape[1]
        steps = torch.arange(t).unsqueeze(0)
        x = self.drop(self.wte(tgt_in) + self.dec_wpe(steps))                     # [B, T, C]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)        # True = masked
        x = self.transformer.decoder(x, memory, tgt_mask=causal, memory_key_padding_mask=src_pad)
        return F.linear(x, self.wte.weight)                                        # [B, T, V], tied

    def forward(self, src, src_lengths, tgt_in):
        src_pad = torch.arange(src.shape[1]).unsqueeze(0) >= src_lengths.unsqueeze(1)  # [B, S]
        return self.decode(tgt_in, self.encode(src, src_pad), src_pad)


def learning_rate(step, peak, warmup, steps):
    """Troupe's schedule for step 1..steps: nanoGPT's get_lr at it = step - 1 (LearningRateSchedule),
    warm-up (it + 1) / (warmup + 1), cosine to 0.1 x peak at max(steps, warmup) (Seq2SeqRun.settings)."""
    it = step - 1
    floor = 0.1 * peak
    decay = max(steps, warmup)
    if it < warmup:
        return peak * (it + 1) / (warmup + 1)
    if it > decay or decay == warmup:
        return floor
    ratio = (it - warmup) / (decay - warmup)
    return floor + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - floor)


@torch.no_grad()
def validation_loss(model, val, args, ids):
    model.eval()
    batches = sampler_epoch(val.source_lengths(), val.target_lengths(), args.batch_size, 100, 0, 0)
    nll = tokens = 0.0
    for rows in batches[:args.val_batches]:
        src, lengths, tgt_in, targets = make_batch(val, rows, args.batch_size, args.max_len, *ids)
        logits = model(src, lengths, tgt_in)
        nll += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               ignore_index=IGNORE, reduction="sum").item()
        tokens += (targets != IGNORE).sum().item()
    model.train()
    return nll / max(1.0, tokens)


@torch.no_grad()
def greedy(model, sources, max_len, bos, eos, pad, batch=64):
    """Greedy ids per source (cut to max_len), at most max_len - 1 tokens, until EOS."""
    model.eval()
    out = [None] * len(sources)
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    for at in range(0, len(order), batch):
        idx = order[at:at + batch]
        cut = [list(sources[i][:max_len]) or [pad] for i in idx]
        s = max(len(c) for c in cut)
        src = torch.full((len(idx), s), pad, dtype=torch.long)
        for k, c in enumerate(cut):
            src[k, :len(c)] = torch.tensor(c)
        lengths = torch.tensor([len(c) for c in cut])
        src_pad = torch.arange(s).unsqueeze(0) >= lengths.unsqueeze(1)
        memory = model.encode(src, src_pad)
        prefix = torch.full((len(idx), 1), bos, dtype=torch.long)
        done = torch.zeros(len(idx), dtype=torch.bool)
        for _ in range(max_len - 1):
            nxt = model.decode(prefix, memory, src_pad)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
            done |= nxt == eos
            prefix = torch.cat([prefix, nxt.unsqueeze(1)], dim=1)
            if bool(done.all()):
                break
        for k, i in enumerate(idx):
            ids = prefix[k, 1:].tolist()
            out[i] = ids[:ids.index(eos)] if eos in ids else ids
    model.train()
    return out


def token_bytes(tokenizer):
    """BpeTokenizer's decode table: 256 byte tokens, then one per merge, then the special tokens."""
    table = [bytes([b]) for b in range(256)]
    for a, b in tokenizer["merges"]:
        table.append(table[a] + table[b])
    table += [s.encode("utf-8") for s in tokenizer["special_tokens"]]
    return table


def write_hyps(model, args, ids):
    test = Split(os.path.join(args.data, "test"), ids[3])
    with open(os.path.join(args.data, "tokenizer.json"), encoding="utf-8") as f:
        table = token_bytes(json.load(f))

    def text(tokens):
        return b"".join(table[t] for t in tokens).decode("utf-8", errors="replace")

    picks = list(range(len(test)))
    if 0 < args.limit < len(picks):  # evenly spaced, as EvalTranslate's --limit
        picks = [i * len(test) // args.limit for i in range(args.limit)]
    srcs = [text(test.source(i)) for i in picks]
    refs = [text(test.target(i)) for i in picks]
    distinct = {}
    for i, s in zip(picks, srcs):  # a repeated source is translated once, as Troupe does
        distinct.setdefault(s, test.source(i))
    keys = list(distinct)
    t0 = time.perf_counter()
    outs = greedy(model, [distinct[k] for k in keys], args.max_len, ids[0], ids[1], ids[2])
    hyp_of = {k: text(o) for k, o in zip(keys, outs)}
    hyps = [hyp_of[s] for s in srcs]
    os.makedirs(args.hyps, exist_ok=True)
    for name, lines in (("src.txt", srcs), ("ref.txt", refs), ("hyp.txt", hyps)):
        with open(os.path.join(args.hyps, name), "w", encoding="utf-8") as f:
            f.write("".join(line.replace("\n", " ") + "\n" for line in lines))
    result = {"pairs": len(picks), "distinct_sources": len(keys),
              "translate_s": round(time.perf_counter() - t0, 1), "hyps": args.hyps}
    try:
        import sacrebleu
        result["bleu"] = round(sacrebleu.corpus_bleu(hyps, [refs]).score, 2)
        result["chrf"] = round(sacrebleu.corpus_chrf(hyps, [refs]).score, 2)
        result["sacrebleu"] = sacrebleu.__version__
    except ImportError:
        result["bleu"] = None  # score DIR/hyp.txt against DIR/ref.txt with sacrebleu later
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="dataset from `troupe prepare --pairs`")
    ap.add_argument("--encoder-layers", type=int, default=3)
    ap.add_argument("--decoder-layers", type=int, default=3)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--val-batches", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip", type=int, default=10, help="warm-up steps left out of the median")
    ap.add_argument("--hyps", help="after training, translate the test split into this directory")
    ap.add_argument("--limit", type=int, default=0, help="test pairs to translate, evenly spaced (0: all)")
    ap.add_argument("--print-steps", action="store_true", help="also print a line per step to stderr")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(os.path.join(args.data, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    dtype = {"uint16": "<u2", "int32": "<i4"}[manifest["dtype"]]
    special = manifest["special_tokens"]
    ids = (special["bos"], special["eos"], special["pad"], dtype)
    train = Split(os.path.join(args.data, "train"), dtype)
    val = Split(os.path.join(args.data, "val"), dtype)

    model = Seq2Seq(manifest["vocab_size"], args.max_len, args.encoder_layers, args.decoder_layers,
                    args.n_head, args.n_embd, args.dropout)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    params = list(model.parameters())
    model.train()

    src_lens, tgt_lens = train.source_lengths(), train.target_lengths()
    batches, epoch = [], 0
    step_ms, shapes, losses = [], [], []
    for step in range(1, args.steps + 1):
        if not batches:
            batches = sampler_epoch(src_lens, tgt_lens, args.batch_size, 100, args.seed, epoch)
            batches.reverse()  # pop() from the end takes them in order
            epoch += 1
        rows = batches.pop()
        t0 = time.perf_counter()
        src, lengths, tgt_in, targets = make_batch(train, rows, args.batch_size, args.max_len, *ids[:3])
        logits = model(src, lengths, tgt_in)                                        # [B, T, V]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               ignore_index=IGNORE, label_smoothing=args.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, args.lr, args.warmup, args.steps)
        opt.step()
        ms = (time.perf_counter() - t0) * 1e3
        step_ms.append(round(ms, 3))
        shape = f"{src.shape[0]}x{src.shape[1]}x{tgt_in.shape[1]}"
        shapes.append(shape)
        losses.append(loss.item())
        if args.print_steps:
            print(f"step {step}: {ms:.1f} ms, batch {shape}, loss {loss.item():.4f}", file=sys.stderr, flush=True)

    steady = step_ms[args.skip:] or step_ms
    result = {"impl": "pytorch", "torch": torch.__version__, "threads": args.threads, "steps": args.steps,
              "skip": args.skip, "median_ms_per_step": round(statistics.median(steady), 1),
              "mean_ms_per_step_all": round(statistics.fmean(step_ms), 1),
              "train_loss_last": round(statistics.fmean(losses[-min(100, len(losses)):]), 4),
              "val_loss": round(validation_loss(model, val, args, ids[:3]), 4),
              "step_ms": step_ms, "shapes": shapes}
    if args.hyps:
        result.update(write_hyps(model, args, ids))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
