// The reference implementation's encode speed (@huggingface/tokenizers) on a text file, for
// scripts/run-tokenizer-bench.sh: the same text and tokenizers as samba_bench_tokenizer.
//
//   node bench/text/reference_speed.mjs TEXT_FILE NAME=DIR [NAME=DIR ...]
//
// Prints one JSON line per tokenizer: {"name", "mb_s", "tokens"}: the median of 7 timed encodes
// after 2 untimed ones (which fill its word cache, as samba's benchmark does).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(process.cwd(), "package.json"));
const { Tokenizer } = require("@huggingface/tokenizers");  // from the working directory

const [textPath, ...specs] = process.argv.slice(2);
const text = readFileSync(textPath, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
for (const spec of specs) {
  const [name, dir] = spec.split("=");
  const tokenizer = new Tokenizer(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
                                  JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")));
  let tokens = 0;
  for (let i = 0; i < 2; ++i) tokens = tokenizer.encode(text).ids.length;
  const times = [];
  for (let i = 0; i < 7; ++i) {
    const t0 = process.hrtime.bigint();
    tokens = tokenizer.encode(text).ids.length;
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ name, mb_s: bytes / times[3] / 1e6, tokens }));
}
