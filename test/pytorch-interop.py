"""Loads weights that fcnet wrote into the reference program's NeuralNet and prints its logits.

Usage: /usr/bin/python3 test/pytorch-interop.py WEIGHTS.safetensors INPUT.safetensors
WEIGHTS holds fc1.weight, fc1.bias, fc2.weight, fc2.bias; INPUT holds x [N, 784]. Prints
{"logits": [[...10 numbers...], ...]} as JSON. The safetensors format is parsed here by hand, without the
safetensors package, so this checks fcnet's writer against the format itself, not against one library.
"""
import json
import struct
import sys

import torch
import torch.nn as nn


# Fully connected neural network with one hidden layer, as the reference program's (scripts/reference/train_pytorch.py)
class NeuralNet(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super(NeuralNet, self).__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        out = self.fc1(x)
        out = self.relu(out)
        out = self.fc2(out)
        return out


def read_safetensors(path):
    """{name: float32 tensor}: 8-byte little-endian header length, JSON header, raw little-endian data."""
    assert sys.byteorder == 'little', 'torch.frombuffer reads native byte order'
    with open(path, 'rb') as f:
        blob = f.read()
    (header_length,) = struct.unpack('<Q', blob[:8])
    assert (8 + header_length) % 8 == 0, 'the data should start 8-byte aligned, as the reference writer pads it'
    header = json.loads(blob[8:8 + header_length].decode('utf-8'))
    data = blob[8 + header_length:]
    tensors = {}
    covered = 0
    for name, info in sorted(((n, i) for n, i in header.items() if n != '__metadata__'), key=lambda e: e[1]['data_offsets']):
        begin, end = info['data_offsets']
        assert info['dtype'] == 'F32', (name, info['dtype'])
        assert begin == covered, (name, begin, covered)
        count = 1
        for size in info['shape']:
            count *= size
        assert end - begin == 4 * count, (name, info)
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(info['shape'])
        covered = end
    assert covered == len(data), 'the tensors should cover the data area'
    return tensors


def main():
    weights_path, input_path = sys.argv[1:3]
    state = read_safetensors(weights_path)
    x = read_safetensors(input_path)['x']
    model = NeuralNet(784, state['fc1.weight'].shape[0], 10)
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        logits = model(x)
    json.dump({'logits': logits.tolist()}, sys.stdout)


main()
