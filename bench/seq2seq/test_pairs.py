#!/usr/bin/env python3
"""Writes the first N pairs of the hash split's test part (bucket >= 95 of md5(English), the data
README's rule and `prepare --pairs --split hash-en:90/5/5`'s) as src.txt (English) and ref.txt
(French), for `troupe translate --refs`. Data: www.manythings.org/anki and tatoeba.org (CC BY 2.0).

usage: test_pairs.py DATA_DIR N OUT_DIR
"""
import hashlib
import sys

data, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
src, ref = [], []
for part in ("fra.part1.txt", "fra.part2.txt", "fra.part3.txt"):
    with open(f"{data}/{part}", encoding="utf-8") as f:
        for line in f:
            en, fr = line.rstrip("\n").split("\t")[:2]
            if int(hashlib.md5(en.encode("utf-8")).hexdigest(), 16) % 100 >= 95:
                src.append(en)
                ref.append(fr)
# The file is sorted by length: take an even spread rather than only the shortest.
step = max(1, len(src) // n)
picked = list(range(0, len(src), step))[:n]
with open(f"{out}/src.txt", "w", encoding="utf-8") as f:
    f.write("".join(src[i] + "\n" for i in picked))
with open(f"{out}/ref.txt", "w", encoding="utf-8") as f:
    f.write("".join(ref[i] + "\n" for i in picked))
print(f"{len(picked)} of {len(src)} test pairs")
