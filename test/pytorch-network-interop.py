"""Loads a network that fcnet saved (saveMLP) into PyTorch from the file alone and prints its logits.

Usage: /usr/bin/python3 test/pytorch-network-interop.py WEIGHTS.safetensors INPUT.safetensors
The Linear layers come from the tensors (fc1.weight [out, in], fc1.bias, ...), loaded with strict=True; the
activation and the input transform from the __metadata__ entry 'fcnet' ({"format": 1, "activation": ..., ...}).
Prints {"logits": [[...], ...]} for x in INPUT, in evaluation mode (dropout off).
"""
import json
import struct
import sys

import torch
import torch.nn as nn

ACTIVATIONS = {'relu': lambda s: nn.ReLU(), 'leaky_relu': lambda s: nn.LeakyReLU(s), 'tanh': lambda s: nn.Tanh(),
               'sigmoid': lambda s: nn.Sigmoid(), 'gelu': lambda s: nn.GELU()}


def read_safetensors(path):
    """({name: float32 tensor}, __metadata__): 8-byte little-endian header length, JSON header, raw data."""
    with open(path, 'rb') as f:
        blob = f.read()
    (n,) = struct.unpack('<Q', blob[:8])
    header, data = json.loads(blob[8:8 + n]), blob[8 + n:]
    metadata = header.pop('__metadata__', {})
    tensors = {name: torch.frombuffer(bytearray(data[slice(*t['data_offsets'])]), dtype=torch.float32).reshape(t['shape'])
               for name, t in header.items()}
    return tensors, metadata


class FcnetMLP(nn.Module):
    """fc1, activation, dropout, fc2, ...: the network an fcnet file describes."""

    def __init__(self, sizes, network):
        super().__init__()
        self.count = len(sizes) - 1
        for l in range(self.count):
            setattr(self, f'fc{l + 1}', nn.Linear(sizes[l], sizes[l + 1]))
        self.act = ACTIVATIONS[network.get('activation', 'relu')](network.get('negative_slope', 0.01))
        self.dropout = nn.Dropout(network.get('dropout', 0))
        mean, std = network.get('input_mean'), network.get('input_std')
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32)

    def forward(self, x):
        if self.mean is not None:
            x = x.sub(self.mean).div(self.std)
        for l in range(self.count):
            x = getattr(self, f'fc{l + 1}')(x)
            if l < self.count - 1:
                x = self.dropout(self.act(x))
        return x


def main():
    state, metadata = read_safetensors(sys.argv[1])
    network = json.loads(metadata.get('fcnet', '{"format": 1}'))
    assert network['format'] == 1, network['format']
    sizes = [state['fc1.weight'].shape[1]] + [state[f'fc{l}.weight'].shape[0] for l in range(1, len(state) // 2 + 1)]
    model = FcnetMLP(sizes, network)
    model.load_state_dict(state, strict=True)  # the tensors are exactly the Linear pairs
    model.eval()
    x = read_safetensors(sys.argv[2])[0]['x']
    with torch.no_grad():
        json.dump({'logits': model(x).tolist()}, sys.stdout)


main()
