#!/usr/bin/env node
// ONNX Runtime peer for `detslim bench --vs ort`. DetSlim starts this process, hands it the model
// and one input tensor, then sends one command per line on stdin and reads one line back:
//   run           -> "<milliseconds of session.run>"
//   dump PATH     -> runs once, writes output 0 as raw little-endian float32 to PATH, "<dims>"
//   quit          -> exits
// Usage: node ort_peer.js MODEL INPUT_NAME INPUT_RAW_F32 DIMS_CSV THREADS
'use strict';
const fs = require('fs');
const readline = require('readline');

function fail(message) {
  process.stdout.write('error ' + message.replace(/\n/g, ' ') + '\n');
  process.exit(2);
}

async function main() {
  const [modelPath, inputName, rawPath, dimsCsv, threadsArg] = process.argv.slice(2);
  if (!threadsArg) fail('usage: ort_peer.js MODEL INPUT_NAME INPUT_RAW_F32 DIMS_CSV THREADS');
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail('onnxruntime-node is not installed (scripts/setup.sh installs it): ' + e.message);
  }
  const dims = dimsCsv.split(',').map(Number);
  const bytes = fs.readFileSync(rawPath);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const threads = Number(threadsArg);
  const spinning = process.env.DETSLIM_ORT_SPINNING === '1' ? '1' : '0';
  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Alternated with DetSlim run by run on the same cores: a worker pool that keeps spinning
      // after session.run returns would steal a core from DetSlim's next run (and DetSlim's
      // OpenMP workers are given the same treatment by the harness's settle pause).
      extra: {session: {intra_op: {allow_spinning: spinning}}},
    });
  } catch (e) {
    fail('ONNX Runtime could not load ' + modelPath + ': ' + e.message);
  }
  const feeds = {[inputName]: new ort.Tensor('float32', data, dims)};
  process.stdout.write('ready ' + ort.env.versions.common + '\n');
  const rl = readline.createInterface({input: process.stdin});
  for await (const line of rl) {
    const [command, arg] = line.trim().split(/\s+/, 2);
    if (command === 'run') {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      const t1 = process.hrtime.bigint();
      process.stdout.write((Number(t1 - t0) / 1e6).toString() + '\n');
    } else if (command === 'dump') {
      const out = await session.run(feeds);
      const first = out[session.outputNames[0]];
      const f32 = Float32Array.from(first.data, Number);
      fs.writeFileSync(arg, Buffer.from(f32.buffer));
      process.stdout.write(first.dims.join(',') + '\n');
    } else if (command === 'quit') {
      break;
    } else {
      process.stdout.write('error unknown command ' + command + '\n');
    }
  }
  process.exit(0);
}

main().catch((e) => fail(String(e && e.message ? e.message : e)));
