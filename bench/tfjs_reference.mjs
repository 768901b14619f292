// Reference outputs of a TFJS graph model from TensorFlow.js itself (pure-JS CPU backend),
// to check fortify's own TFJS -> ONNX converter. Verification only: never a runtime dependency.
//
//   node bench/tfjs_reference.mjs NPM_PREFIX MODEL_JSON INPUT_F32 N,H,W,C OUTPUT_NAME OUT_F32
//
// NPM_PREFIX is the folder where `npm install --prefix NPM_PREFIX @tensorflow/tfjs` was run.
// INPUT_F32 / OUT_F32 are raw little-endian float32 arrays (C order).
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const [prefix, modelJson, inputFile, shapeText, outputName, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error('usage: tfjs_reference.mjs NPM_PREFIX MODEL_JSON INPUT_F32 N,H,W,C OUTPUT OUT_F32');
  process.exit(2);
}
const require = createRequire(join(resolve(prefix), 'node_modules', 'noop.js'));
const tf = require('@tensorflow/tfjs');

function artifacts(path) {
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  const specs = [];
  const buffers = [];
  for (const group of doc.weightsManifest) {
    specs.push(...group.weights);
    for (const shard of group.paths) buffers.push(readFileSync(join(dirname(path), shard)));
  }
  const all = Buffer.concat(buffers);
  return {
    modelTopology: doc.modelTopology,
    format: doc.format,
    generatedBy: doc.generatedBy,
    convertedBy: doc.convertedBy,
    signature: doc.signature,
    userDefinedMetadata: doc.userDefinedMetadata,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
}

await tf.setBackend('cpu');
const model = await tf.loadGraphModel({ load: async () => artifacts(modelJson) });
const shape = shapeText.split(',').map(Number);
const raw = readFileSync(inputFile);
const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const input = tf.tensor(data, shape, 'float32');
const output = model.execute(input, outputName);
const values = await output.data();
writeFileSync(outFile, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
console.log(JSON.stringify({ backend: tf.getBackend(), tfjs: tf.version.tfjs, shape: output.shape }));
