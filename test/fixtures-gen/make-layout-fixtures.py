"""Writes test/fixtures/layouts/: tiny networks saved the ways people save them, and the near-misses fcnet explains.

Run from the repository root with PyTorch 1.13 (the tests themselves never need Python):
    /usr/bin/python3 test/fixtures-gen/make-layout-fixtures.py
layouts.json holds, for each file that fcnet reads, what PyTorch says of it: the parameter names in state_dict
order, the layer sizes, the entry of the dict that holds the state_dict, a few inputs with the logits PyTorch
computes for them (ReLU between layers), and Adam's state when the file has one. Near-misses are listed with
no expectation: the test checks fcnet's message.
"""
import argparse
import collections
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'layouts')
INPUTS = 3
expectations = {}


def flat(t):
    return t.detach().to(torch.float32).contiguous().flatten().tolist()


def chain_logits(linears, x):
    """What fcnet computes: Linear layers with a ReLU between each two."""
    for i, layer in enumerate(linears):
        x = layer(x)
        if i + 1 < len(linears):
            x = torch.relu(x)
    return x


def expect(name, model, linears, entry=None, adam=None, names=None):
    state = model.state_dict()
    sizes = [linears[0].in_features] + [layer.out_features for layer in linears]
    x = torch.rand(INPUTS, sizes[0], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = chain_logits(linears, x)
    names = names if names is not None else list(state.keys())
    record = {
        'names': names,
        'sizes': sizes,
        'entry': entry,
        'inputs': flat(x),
        'logits': flat(logits),
        'parameters': {name: flat(value) for name, value in zip(names, state.values())},
    }
    if adam is not None:
        record['adam'] = adam
    expectations[name] = record


def save(name, obj, **options):
    torch.save(obj, os.path.join(OUT, name), **options)


class Net(nn.Module):
    """The reference program's shape: fc1, relu, fc2."""

    def __init__(self, i=5, h=4, o=3):
        super().__init__()
        self.fc1 = nn.Linear(i, h)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(h, o)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class QuickstartNetwork(nn.Module):
    """PyTorch's quickstart tutorial network, smaller: Flatten, then linear_relu_stack."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


class ListNet(nn.Module):
    """Layers in a ModuleList: layers.0, layers.1, layers.2."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(5, 4), nn.Linear(4, 4), nn.Linear(4, 3)])


class HiddenOut(nn.Module):
    """The names of many tutorials: hidden, out (declared in the order they run, not alphabetical)."""

    def __init__(self):
        super().__init__()
        self.input = nn.Linear(5, 4)
        self.hidden = nn.Linear(4, 4)
        self.out = nn.Linear(4, 3)


def adam_after_steps(model, steps, lr=0.01):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.rand(8, 5, generator=torch.Generator().manual_seed(2))
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return optimizer, loss


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(16)

    # PyTorch's recipe "Saving and loading a general checkpoint": Adam, after 3 steps.
    net = Net()
    optimizer, loss = adam_after_steps(net, 3)
    state = optimizer.state_dict()
    adam = {
        'step': int(state['state'][0]['step']),
        'lr': state['param_groups'][0]['lr'],
        'betas': list(state['param_groups'][0]['betas']),
        'eps': state['param_groups'][0]['eps'],
        'exp_avg': [flat(state['state'][i]['exp_avg']) for i in range(4)],
        'exp_avg_sq': [flat(state['state'][i]['exp_avg_sq']) for i in range(4)],
    }
    save('general-checkpoint.pt', {'epoch': 2, 'model_state_dict': net.state_dict(), 'optimizer_state_dict': state, 'loss': loss})
    expect('general-checkpoint.pt', net, [net.fc1, net.fc2], entry='model_state_dict', adam=adam)
    # One more step from there, on one batch of 8 five-pixel images (bytes / 255, as fcnet scales them).
    pixels = torch.randint(0, 256, (8, 5), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    labels = torch.tensor([2, 0, 1, 1, 0, 2, 2, 1])
    nxt = Net()
    nxt.load_state_dict(net.state_dict())
    continued = torch.optim.Adam(nxt.parameters(), lr=0.01)
    continued.load_state_dict(state)
    continued.zero_grad()
    nn.functional.cross_entropy(nxt(pixels.float() / 255), labels).backward()
    continued.step()
    expectations['general-checkpoint.pt']['next_step'] = {
        'pixels': pixels.flatten().tolist(), 'labels': labels.tolist(),
        'parameters': {key: flat(value) for key, value in nxt.state_dict().items()},
    }
    save('legacy-general-checkpoint.pt', {'epoch': 2, 'model_state_dict': net.state_dict(), 'optimizer_state_dict': state, 'loss': loss},
         _use_new_zipfile_serialization=False)
    expect('legacy-general-checkpoint.pt', net, [net.fc1, net.fc2], entry='model_state_dict', adam=adam)

    # The same with SGD: its momentum is not Adam's state, so it is ignored with a note.
    net = Net()
    sgd = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.rand(2, 5)).sum().backward()
    sgd.step()
    save('general-checkpoint-sgd.pt', {'epoch': 1, 'model_state_dict': net.state_dict(), 'optimizer_state_dict': sgd.state_dict()})
    expect('general-checkpoint-sgd.pt', net, [net.fc1, net.fc2], entry='model_state_dict')

    # Other conventional keys: 'state_dict' (PyTorch Lightning, with its 'model.' prefix), 'model', 'net'.
    seq = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    wrapped = nn.Module()
    wrapped.model = seq
    save('state-dict-key.ckpt', {'epoch': 4, 'global_step': 40, 'state_dict': wrapped.state_dict()})
    expect('state-dict-key.ckpt', wrapped, [seq[0], seq[2]], entry='state_dict')
    net = Net()
    save('model-key.pth', {'model': net.state_dict(), 'epoch': 9})
    expect('model-key.pth', net, [net.fc1, net.fc2], entry='model')
    save('net-key.pth', {'net': net.state_dict(), 'acc': 91.25, 'epoch': 7})
    expect('net-key.pth', net, [net.fc1, net.fc2], entry='net')
    save('only-tensor-dict.pt', {'weights': net.state_dict(), 'comment': 'trained on MNIST'})
    expect('only-tensor-dict.pt', net, [net.fc1, net.fc2], entry='weights')

    # Any chain of Linear layers, whatever its names.
    seq = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    save('sequential-0-2.pt', seq.state_dict())
    expect('sequential-0-2.pt', seq, [seq[0], seq[2]])
    save('legacy-sequential-0-2.pt', seq.state_dict(), _use_new_zipfile_serialization=False)
    expect('legacy-sequential-0-2.pt', seq, [seq[0], seq[2]])
    quick = QuickstartNetwork()
    save('quickstart.pth', quick.state_dict())
    expect('quickstart.pth', quick, [quick.linear_relu_stack[i] for i in (0, 2, 4)])
    listed = ListNet()
    save('layers-list.pt', listed.state_dict())
    expect('layers-list.pt', listed, list(listed.layers))
    named = HiddenOut()
    save('input-hidden-out.pt', named.state_dict())
    expect('input-hidden-out.pt', named, [named.input, named.hidden, named.out])
    net = Net()
    parallel = nn.DataParallel(net)  # on a CPU it only wraps: the state_dict gets the 'module.' prefix
    save('data-parallel.pt', parallel.state_dict())
    expect('data-parallel.pt', parallel, [net.fc1, net.fc2])

    # Near-misses: files people have that are not a state_dict of Linear layers.
    save('whole-module.pt', Net())
    torch.jit.save(torch.jit.script(Net()), os.path.join(OUT, 'torchscript.pt'))
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    save('conv-net.pt', conv.state_dict())
    save('batchnorm.pt', nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3)).state_dict())
    save('no-bias.pt', nn.Sequential(nn.Linear(5, 4, bias=False), nn.ReLU(), nn.Linear(4, 3)).state_dict())
    save('not-a-chain.pt', collections.OrderedDict([('a.weight', torch.zeros(4, 5)), ('a.bias', torch.zeros(4)),
                                                    ('b.weight', torch.zeros(3, 6)), ('b.bias', torch.zeros(3))]))
    save('bare-tensor.pt', torch.zeros(3))
    save('two-models.pt', {'generator': Net().state_dict(), 'discriminator': Net(3, 4, 1).state_dict()})
    save('optimizer-only.pt', torch.optim.Adam(Net().parameters()).state_dict())
    save('numpy-in-checkpoint.pt', {'model_state_dict': Net().state_dict(), 'loss': np.float64(0.25)})
    save('argparse-in-checkpoint.pt', {'state_dict': Net().state_dict(), 'args': argparse.Namespace(lr=0.1, epochs=3)})

    # torch.compile's wrapper prefixes every name with '_orig_mod.' (torch 2; written here by hand, as 1.13 has no compile).
    net = Net()
    compiled = collections.OrderedDict(('_orig_mod.' + key, value) for key, value in net.state_dict().items())
    save('compiled-prefix.pt', compiled)
    expect('compiled-prefix.pt', net, [net.fc1, net.fc2], names=list(compiled.keys()))

    # For fcnet train --init-from on 4x4 images of 10 classes: PyTorch's recipe with an nn.Sequential, after 2 Adam steps.
    seq = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 10))
    optimizer = torch.optim.Adam(seq.parameters(), lr=0.005)
    x = torch.rand(8, 16, generator=torch.Generator().manual_seed(4))
    y = torch.arange(8) % 10
    for _ in range(2):
        optimizer.zero_grad()
        nn.functional.cross_entropy(seq(x), y).backward()
        optimizer.step()
    save('init-from-16-8-10.pt', {'epoch': 1, 'model_state_dict': seq.state_dict(), 'optimizer_state_dict': optimizer.state_dict()})
    expect('init-from-16-8-10.pt', seq, [seq[0], seq[2]], entry='model_state_dict')

    with open(os.path.join(OUT, 'layouts.json'), 'w') as out:
        json.dump(expectations, out, indent=1)
        out.write('\n')
    print('wrote', OUT, 'with torch', torch.__version__, file=sys.stderr)


main()
