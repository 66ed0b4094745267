"""The exported ONNX files checked from Python: `check FILE...` runs ONNX's own checker (onnx.checker.check_model
with full_check, which also infers every shape) on each file and prints its metadata_props as JSON;
`torch JOBS.json` writes PyTorch 1.13's outputs for networks given as raw float32 files (the reference numbers
for the activations and losses that fcnet's own forward cannot run yet)."""
import json
import sys


def check(files):
    import onnx
    report = {}
    for path in files:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        report[path] = {
            'ir_version': model.ir_version,
            'opset': [(o.domain, o.version) for o in model.opset_import],
            'metadata': {p.key: p.value for p in model.metadata_props},
            'ops': [n.op_type for n in model.graph.node],
        }
    print(json.dumps(report))


def reference(jobs_file):
    import numpy as np
    import torch
    import torch.nn.functional as F
    activations = {'relu': F.relu, 'tanh': torch.tanh, 'sigmoid': torch.sigmoid, 'gelu': F.gelu}
    for job in json.load(open(jobs_file)):
        def floats(path, shape):
            return torch.from_numpy(np.fromfile(path, dtype='<f4').reshape(shape))
        sizes = job['sizes']
        x = floats(job['input'], (job['batch'], sizes[0]))
        if job['inputMean'] is not None:
            x = (x - floats(job['inputMean'], (sizes[0],))) / floats(job['inputStd'], (sizes[0],))
        for layer in range(1, len(sizes)):
            weight = floats(job['parameters'][f'fc{layer}.weight'], (sizes[layer], sizes[layer - 1]))
            bias = floats(job['parameters'][f'fc{layer}.bias'], (sizes[layer],))
            x = F.linear(x, weight, bias)
            if layer < len(sizes) - 1:
                act = job['activation']
                x = F.leaky_relu(x, job['negativeSlope']) if act == 'leaky_relu' else activations[act](x)
        x.numpy().astype('<f4').tofile(job['output'] + '.logits.bin')
        probabilities = {'cross_entropy': lambda z: torch.softmax(z, dim=1), 'bce_with_logits': torch.sigmoid}.get(job['loss'])
        if probabilities is not None:
            probabilities(x).numpy().astype('<f4').tofile(job['output'] + '.probabilities.bin')


if __name__ == '__main__':
    if sys.argv[1] == 'check':
        check(sys.argv[2:])
    else:
        reference(sys.argv[2])
