#!/usr/bin/python3
"""Writes tests/text/corpus.bin: the texts the tokenizer is checked on against the reference
implementation (tests/text/reference.mjs), one after another, each ended by the byte 0x1E (ASCII's
record separator, which no text here contains). Deterministic; run from anywhere:

    /usr/bin/python3 tests/text/make_corpus.py

The texts cover what tokenizers get wrong: scripts with and without spaces, combining marks in
composed and decomposed form, digits of several scripts, code with its indentation, emoji with
modifiers and zero-width joiners, runs of spaces, tabs and newlines, special-token strings inside
text, and bytes that are not UTF-8.
"""
from pathlib import Path

ENGLISH = (
    "The quick brown fox jumps over the lazy dog. It's 5 o'clock somewhere, isn't it? "
    "\"Quoted,\" she said; they'll say THEY'RE fine, we've been told, I'm sure, you'd agree.\n"
    "Samba combines Mamba, a selective state space model, with sliding window attention: "
    "it compresses a sequence into recurrent hidden states while attention recalls memories "
    "precisely. Trained on 4K sequences, it extrapolates to 256K context length with perfect "
    "memory recall, and shows improved token predictions up to 1M context length.")

TEXTS = [
    ENGLISH,
    "Hello world",
    " Hello world",
    "Hello  world   with    runs     of spaces",
    "   leading and trailing spaces   ",
    "tabs\tand\t\ttabs\t\t\tand\n\nnewlines\n\n\n\r\nwindows\r\nline ends\r",
    "a\n b\n  c\n   d",
    " ",
    "\n",
    "x",
    "don't DON'T I'd I'LL we're You've she's it'S",
    "Numbers: 0 1 12 123 1234 12345 1234567890 3.14159 -42 1,000,000 2026-11-29 +1 (555) 010-9999",
    "Other digits: ٠١٢٣٤٥٦٧٨٩ ०१२३ １２３ ⅫⅣ ½ ²³",
    "中文分词没有空格，句子之间用标点符号。我们今天学习语言模型。",
    "日本語の文章はひらがな、カタカナ、漢字を混ぜて書きます。東京タワーは333メートルです。",
    "한국어 문장은 띄어쓰기를 합니다. 안녕하세요!",
    "Русский текст: Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Ελληνικά: Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "العربية: نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر",
    "עברית: דג סקרן שט בים מאוכזב ולפתע מצא חברה",
    "हिन्दी: ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले",
    "ไทย: เป็นมนุษย์สุดประเสริฐเลิศคุณค่า",
    "Tiếng Việt: Tôi có thể ăn thủy tinh mà không hại gì.",
    "Tie\u0302\u0301ng Vie\u0323\u0302t decomposed: e\u0301 a\u0300 o\u0308 n\u0303",
    "Composed é à ö ñ and decomposed e\u0301 a\u0300 o\u0308 n\u0303 side by side",
    "Hangul jamo: \u1100\u1161\u11a8 and syllable 각",
    "Türkçe: İstanbul ıspanak; Deutsch: Straße, STRASSE, Maß",
    "Ligatures ﬁ ﬂ, fullwidth ＡＢＣ, circled ① ②, superscript x² ⁿ, ™ ℃ ㎏",
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;  // double\n\treturn v[0] == 2 ? 0 : 1;\n}\n",
    "{\"key\": [1, 2.5, null, true], \"nested\": {\"a\": \"b\"}}",
    "if (a&&b||!c) { x+=1; y<<=2; z->w = p::q; } /* comment */ // end",
    "URLs: https://example.com/path?query=1&b=2#frag and emails: someone@example.org",
    "Emoji: 😀😃😄 👍👍🏽👍🏿 ❤️ ☕ 🇺🇸🇯🇵🇩🇪",
    "ZWJ sequences: 👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 🧑‍🤝‍🧑 and keycaps 1️⃣ #️⃣",
    "Zero width: a\u200bb\u200cc\u200dd\ufeffe and soft\u00adhyphen",
    "Spaces of all kinds: a\u00a0b\u2003c\u3000d\u2009e\u202ff",
    "<|begin_of_text|>Hello<|end_of_text|>",
    "<s>Hello</s> and <s> spaced </s>",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>",
    "<bos><start_of_turn>user\nhi<end_of_turn>",
    "text<|endoftext|>more text <|endofprompt|>",
    "partial specials: <|im_sta <s <|begin_of_text| </s",
    "<unk> <pad> <mask>",
    b"Invalid \xff bytes \xfe here",
    b"Truncated \xe2\x82 euro and \xf0\x9f\x98 emoji",
    b"Overlong \xc0\xaf and surrogate \xed\xa0\x80 and lone continuation \x80\x80 bytes",
    b"Ends inside a character \xe4\xb8",
    "Mixed: English, 中文, русский, العربية, 😀, 123, and code `x = 1` in one line.",
    "Repeated: " + "ha" * 40 + " " + "!!!!!!!!!!!!!!!!!!!!" + " " + "." * 33,
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "Control characters: \x01\x02\x07\x08\x0b\x0c\x1b[0m\x7f end",
    "Private use \ue000 and unassigned \U0003ffff and max \U0010ffff",
    ENGLISH * 8 + "\n" + "日本語と English が混ざった長い文章。" * 20,
]


def main():
    out = bytearray()
    for t in TEXTS:
        data = t if isinstance(t, bytes) else t.encode("utf-8")
        assert b"\x1e" not in data
        out += data + b"\x1e"
    path = Path(__file__).with_name("corpus.bin")
    path.write_bytes(bytes(out))
    print(f"wrote {path}: {len(TEXTS)} texts, {len(out)} bytes")


if __name__ == "__main__":
    main()
