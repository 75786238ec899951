#!/usr/bin/python3
"""Writes tests/text/data/tiny/: a SentencePiece-style BPE tokenizer (Llama-2's pipeline: ▁ for
spaces, a <s> template, the Replace / Fuse / Strip decoders) of 40 tokens, small enough for every
test checkpoint's vocabulary (40 to 96 ids), so that samba-cli's text paths run end to end on
them (tests/cli). Characters outside it are <unk>. Deterministic:

    /usr/bin/python3 tests/text/make_tiny.py
"""
import json
from pathlib import Path

SPECIALS = ["<unk>", "<s>", "</s>"]
CHARS = ["\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + [".", ","]
MERGES = [("\u2581", "t"), ("h", "e"), ("\u2581t", "he"), ("i", "n"), ("a", "n"), ("e", "r"),
          ("o", "n"), ("\u2581", "a")]


def main():
    vocab = {t: i for i, t in enumerate(SPECIALS + CHARS)}
    for a, b in MERGES:
        vocab[a + b] = len(vocab)
    assert len(vocab) == 40
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for i, t in enumerate(SPECIALS)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in MERGES]},
    }
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
              "clean_up_tokenization_spaces": False, "add_bos_token": True}
    out = Path(__file__).with_name("data") / "tiny"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, indent=1, ensure_ascii=False) + "\n")
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
