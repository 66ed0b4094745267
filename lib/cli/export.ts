// `fcnet export MODEL OUTPUT.onnx`: a saved network as an ONNX model, for ONNX Runtime and other ONNX readers.
import { loadMLP } from '../checkpoint';
import type { Activation } from '../checkpoint/model-weights';
import { exportOnnx } from '../onnx/export';
import { activationOption } from './args';
import { execute, type CommandInput, type CommandSpec } from './command';
import { checkOutputFile } from './outputs';

async function exportRun({ args, options: o }: CommandInput): Promise<void> {
  const [modelFile, output] = args;
  checkOutputFile(output, 'OUTPUT.onnx'); // before reading the model
  const activation = o.activation as Activation | undefined;
  // Only the weights are read; no math runs.
  const model = loadMLP(modelFile, { backend: 'js', ...(activation !== undefined && { activation }) });
  const { outputs } = exportOnnx(model, output);
  console.error(`fcnet: wrote ${model.sizes.join('-')} from ${modelFile} to ${output}: ONNX opset 17, input "input" [batch, ${model.sizes[0]}], outputs ${outputs.map((o) => `"${o}"`).join(' and ')}`);
}

export const exportSpec: CommandSpec = {
  name: 'export',
  summary: 'write a saved network as an ONNX model (for ONNX Runtime)',
  arguments: ['MODEL', 'OUTPUT.onnx'],
  description: [
    "Writes the network in MODEL (fcnet's safetensors, a training checkpoint, or a PyTorch checkpoint written by torch.save(model.state_dict())) to OUTPUT.onnx as an ONNX model (opset 17, IR version 8): a Gemm per Linear layer (the initializers keep the file's layer names), the activation between them (which a PyTorch state_dict does not record: --activation, ReLU by default), the saved input standardisation (if any) as Sub and Div before the first layer, and the class names (if any) in metadata_props.",
    'The graph\'s input is "input", float32 [batch, D] with a dynamic batch: the features as fcnet takes them (pixels / 255 for images). Its outputs are "logits" [batch, O] and, for networks trained with cross-entropy (softmax) or BCE-with-logits (sigmoid), "probabilities" [batch, O].',
  ].join('\n\n'),
  options: [activationOption],
  run: exportRun,
};

/** `fcnet export ARGV`, for tests and scripts: throws what `fcnet export` would report. */
export function exportCommand(argv: string[]): Promise<void> {
  return execute([exportSpec], ['export', ...argv]);
}
