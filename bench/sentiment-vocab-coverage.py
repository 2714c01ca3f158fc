#!/usr/bin/env python3
# How much of the sentiment signal the Gutenberg corpus (the pretraining data) can know about:
# the most polar words of all_labelled.txt (log-odds with +1 smoothing, words seen >= 5 times),
# how often each occurs in the 7 Gutenberg books, and whether gut-bpe4k keeps it as one token.
# usage: bench/sentiment-vocab-coverage.py LABELLED.txt GUTENBERG_DIR TOKENIZER.json
import collections, json, math, re, glob, sys
labelled, books, tokenizer = sys.argv[1:4]
lab = [l.rstrip("\n").rsplit("\t", 1) for l in open(labelled)]
lab = [(t, y) for t, y in lab if y in ("0", "1")]
words = lambda s: re.findall(r"[a-z']+", s.lower())
c = {"0": collections.Counter(), "1": collections.Counter()}
for t, y in lab:
    c[y].update(set(words(t)))
gut = collections.Counter()
for f in glob.glob(books + "/*.txt"):
    gut.update(words(open(f, encoding="latin-1").read()))
tok = json.load(open(tokenizer))
rank = {tuple(m): i for i, m in enumerate(tok["merges"])}   # byte-level BPE: merge i makes id 256 + i
def pieces(w):
    ids = list((" " + w).encode())
    while len(ids) > 1:
        pairs = [(rank.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(ids, ids[1:]))]
        r, i = min(pairs)
        if r == 1 << 30:
            break
        ids[i:i + 2] = [256 + r]
    return len(ids)
v = tok["merges"]
def one_token(w):
    return pieces(w)
polar = []
for w in set(c["0"]) | set(c["1"]):
    n0, n1 = c["0"][w], c["1"][w]
    if n0 + n1 >= 5:
        polar.append((abs(math.log((n1 + 1) / (n0 + 1))), w, n0, n1))
polar.sort(reverse=True)
top = polar[:60]
print("word neg pos gutenberg_count bpe_tokens")
for s, w, n0, n1 in top:
    print(w, n0, n1, gut[w], one_token(w))
rare = sum(1 for _, w, _, _ in top if gut[w] < 20)
single = sum(1 for _, w, _, _ in top if one_token(w) == 1)
print(f"top-60 polar words: {rare} occur < 20 times in the 7 books; {single} are one gut-bpe4k token; "
      f"median count {sorted(gut[w] for _, w, _, _ in top)[30]}; merges {len(v)}; gutenberg words {sum(gut.values())}")
lab_tokens = collections.Counter(w for t, _ in lab for w in words(t))
cov = sum(n for w, n in lab_tokens.items() if gut[w] >= 20) / sum(lab_tokens.values())
print(f"share of the labelled texts' word occurrences whose word occurs >= 20 times in the books: {cov:.3f}")
