"""Writes the small PyTorch checkpoints that test/checkpoint-torch.test.ts reads, with their expected values.

Run from the repository root with PyTorch 1.13 (the tests themselves never need Python):
    /usr/bin/python3 test/fixtures-gen/make-torch-fixtures.py
Each <name>.ckpt comes with <name>.json: {key: {"shape": [...], "values": [...]}}, where the values are the
tensor flattened in row-major order and converted to float32 by torch itself, so the test can compare exactly.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, state, **save_options):
    torch.save(state, os.path.join(HERE, name + '.ckpt'), **save_options)
    expected = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            flat = value.detach().to(torch.float32).contiguous().flatten().tolist()
            expected[key] = {'shape': list(value.shape), 'values': flat}
    with open(os.path.join(HERE, name + '.json'), 'w') as out:
        json.dump(expected, out, indent=1)
        out.write('\n')


class RunsAShellCommand:
    """What a hostile checkpoint holds: unpickling it with Python's pickle calls os.system."""

    def __reduce__(self):
        return (os.system, ('touch /tmp/fcnet-pwned-by-checkpoint',))


def main():
    torch.manual_seed(6)

    # A tiny 5-4-3 MLP saved the way the reference program saves its model.
    model = torch.nn.Sequential()
    model.add_module('fc1', torch.nn.Linear(5, 4))
    model.add_module('relu', torch.nn.ReLU())
    model.add_module('fc2', torch.nn.Linear(4, 3))
    save('tiny_mlp', model.state_dict())

    # Same, written with pickle protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL).
    save('tiny_mlp_protocol4', model.state_dict(), pickle_protocol=4)

    # Views: torch.save keeps the whole storage, so offsets and strides must be honoured.
    grid = torch.arange(12.0).reshape(3, 4)
    save('views', {
        'transposed': torch.arange(6.0).reshape(2, 3).t(),
        'row': grid[1],
        'column': grid[:, 2],
        'parameter': torch.nn.Parameter(torch.tensor([0.5, -1.25])),
        'scalar': torch.tensor(3.5),
        'empty': torch.zeros(0, 3),
    })

    # Storage types other than float32, converted to float32 on read.
    save('dtypes', {
        'float64': torch.tensor([1.0 / 3.0, -2.5e-8, 1e30], dtype=torch.float64),
        'int64': torch.tensor([-5, 0, 2 ** 40 + 3, 2 ** 24 + 1], dtype=torch.int64),
        'int32': torch.tensor([-7, 123456789], dtype=torch.int32),
        'int16': torch.tensor([-32768, 32767], dtype=torch.int16),
        'int8': torch.tensor([-128, 127], dtype=torch.int8),
        'uint8': torch.tensor([0, 255], dtype=torch.uint8),
        'bool': torch.tensor([True, False, True]),
        'float16': torch.tensor([0.1, -65504.0, 6e-8], dtype=torch.float16),
        'bfloat16': torch.tensor([0.1, -3e38, 1.0], dtype=torch.bfloat16),
    })

    # A checkpoint whose pickle calls os.system (its module is 'posix' on Linux).
    torch.save({'w': RunsAShellCommand()}, os.path.join(HERE, 'malicious_os_system.ckpt'))

    print('wrote fixtures to', HERE, 'with torch', torch.__version__, file=sys.stderr)


main()
