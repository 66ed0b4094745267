// Runs .onnx files in onnxruntime-web's WASM backend under Node, in a process of its own: onnxruntime-web loads
// its WASM module with import(), which jest's module sandbox does not offer.
// Usage: node run-onnxruntime.mjs JOBS.json, JOBS = [{ model, input, batch, width, output }]: input is raw
// float32 (batch, width); each graph output NAME is written as raw float32 to `${output}.${NAME}.bin`, and the
// output names (in the session's order) to `${output}.json`.
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;
for (const job of JSON.parse(readFileSync(process.argv[2], 'utf8'))) {
  const session = await ort.InferenceSession.create(readFileSync(job.model), { executionProviders: ['wasm'] });
  const bytes = readFileSync(job.input);
  const x = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const results = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [job.batch, job.width]) });
  for (const name of session.outputNames) {
    const { data, dims } = results[name];
    if (dims[0] !== job.batch) throw new Error(`${job.model}: output ${name} has dims [${dims}] for a batch of ${job.batch}`);
    writeFileSync(`${job.output}.${name}.bin`, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  writeFileSync(`${job.output}.json`, JSON.stringify({ inputNames: session.inputNames, outputNames: session.outputNames }));
  await session.release();
}
