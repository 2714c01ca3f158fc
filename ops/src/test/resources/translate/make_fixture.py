#!/usr/bin/env python3
"""Writes the BLEU/chrF fixture: hypotheses, two reference streams, and sacreBLEU's scores.

Run from this directory: python3 make_fixture.py ../../../../../../shared/data/parallel-eng-fra
(sacrebleu is used here only, to produce the expected numbers the Java metrics must match).
References are French lines from the Tatoeba pairs (www.manythings.org/anki and tatoeba.org,
CC BY 2.0) chosen to include typographic spaces (U+00A0, U+202F); the hypotheses are
deterministic edits of them (dropped, swapped and replaced words, changed spacing and case,
an empty line), so that every n-gram order has partial matches.
"""
import json
import random
import sys

import sacrebleu

data = sys.argv[1] if len(sys.argv) > 1 else "../../../../../../shared/data/parallel-eng-fra"
rng = random.Random(21)
by_en = {}
for part in ("fra.part1.txt", "fra.part2.txt", "fra.part3.txt"):
    with open(f"{data}/{part}", encoding="utf-8") as f:
        for line in f:
            en, fr = line.rstrip("\n").split("\t")[:2]
            by_en.setdefault(en, []).append(fr)

# English sentences with at least two French translations, one with a typographic space.
typo = [en for en, frs in by_en.items() if len(frs) >= 2 and any("\u202f" in x or "\u00a0" in x for x in frs)]
plain = [en for en, frs in by_en.items() if len(frs) >= 2 and en not in set(typo)]
chosen = sorted(rng.sample(typo, 45)) + sorted(rng.sample(plain, 15))

def perturb(s, i):
    words = s.split(" ")
    kind = i % 7
    if kind == 0:
        return s
    if kind == 1 and len(words) > 2:
        del words[rng.randrange(len(words))]
    elif kind == 2 and len(words) > 2:
        j = rng.randrange(len(words) - 1)
        words[j], words[j + 1] = words[j + 1], words[j]
    elif kind == 3:
        words[rng.randrange(len(words))] = rng.choice(["le", "chat", "maison", "très", "n'est"])
    elif kind == 4:
        return s.replace("\u202f", " ").replace("\u00a0", " ").lower()
    elif kind == 5:
        return " ".join(words[: max(1, len(words) // 2)])
    elif kind == 6:
        return s.replace(" ?", "?").replace(" !", "!") + " &amp; 3,5 km-2"
    return " ".join(words)

hyps, ref1, ref2 = [], [], []
for i, en in enumerate(chosen):
    frs = by_en[en]
    ref1.append(frs[0])
    ref2.append(frs[1])
    hyps.append(perturb(frs[0] if i % 2 == 0 else frs[1], i))
hyps[17] = ""  # an empty hypothesis must count as zero length, not fail

for name, lines in (("hyp.txt", hyps), ("ref1.txt", ref1), ("ref2.txt", ref2)):
    with open(name, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")

def scores(refs):
    bleu = sacrebleu.corpus_bleu(hyps, refs)
    chrf = sacrebleu.corpus_chrf(hyps, refs)
    return {"bleu": bleu.score, "chrf": chrf.score, "bp": bleu.bp, "sys_len": bleu.sys_len, "ref_len": bleu.ref_len}

expected = {"sacrebleu": sacrebleu.__version__, "one_ref": scores([ref1]), "two_refs": scores([ref1, ref2]),
            "half_bleu_first30": sacrebleu.corpus_bleu(hyps[:30], [ref1[:30]]).score,
            "half_chrf_first30": sacrebleu.corpus_chrf(hyps[:30], [ref1[:30]]).score}
with open("expected.json", "w", encoding="utf-8") as f:
    json.dump(expected, f, indent=2)
    f.write("\n")
print(json.dumps(expected, indent=2))
