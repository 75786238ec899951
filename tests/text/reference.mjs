// The reference side of tests/text/reference.cpp: encodes and decodes every text of a corpus with
// @huggingface/tokenizers (the tokenizer of transformers.js) and writes what it got as JSON.
//
//   node tests/text/reference.mjs CORPUS OUT.json NAME=DIR [NAME=DIR ...]
//
// CORPUS: texts each ended by the byte 0x1E (tests/text/make_corpus.py), read as Node reads bytes
// (ill-formed UTF-8 becomes U+FFFD); DIR: a directory with tokenizer.json and tokenizer_config.json.
// For each tokenizer and text: encode(text).ids (special tokens added as the post-processor says)
// and decode(ids) with and without skip_special_tokens.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(process.cwd(), "package.json"));
const { Tokenizer } = require("@huggingface/tokenizers");  // from the working directory

const [corpusPath, outPath, ...specs] = process.argv.slice(2);
if (!corpusPath || !outPath || specs.length === 0) {
  console.error("usage: node reference.mjs CORPUS OUT.json NAME=DIR [NAME=DIR ...]");
  process.exit(2);
}
const bytes = readFileSync(corpusPath);
const texts = [];
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
for (let start = 0, i = 0; i < bytes.length; ++i) {
  if (bytes[i] === 0x1e) {
    texts.push(decoder.decode(bytes.subarray(start, i)));
    start = i + 1;
  }
}

const out = {};
for (const spec of specs) {
  const [name, dir] = spec.split("=");
  const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
  const tokenizer = new Tokenizer(json, config);
  out[name] = texts.map((text) => {
    const ids = tokenizer.encode(text).ids;
    if (ids.length === 0) return { ids, decoded: "", decoded_skip: "" };
    return {
      ids,
      decoded: tokenizer.decode(ids),
      decoded_skip: tokenizer.decode(ids, { skip_special_tokens: true }),
    };
  });
}
writeFileSync(outPath, JSON.stringify(out));
console.log(`reference.mjs: ${texts.length} texts × ${specs.length} tokenizers → ${outPath}`);
