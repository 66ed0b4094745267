"""Writes test/fixtures/layers.safetensors and layers.json: PyTorch's numbers for every activation, loss, class
weights, dropout and the input transform, on small networks at two depths (6-5-3 and 6-5-4-3), that every
backend is held to (test/layers.test.ts, within torch.allclose(rtol 1e-4, atol 1e-6)).

Run from the repository root with Debian's PyTorch 1.13 (the tests themselves never need Python):
    /usr/bin/python3 test/fixtures-gen/make-layer-fixtures.py [--out DIR]
Same PyTorch build, one thread: the same bits on every run.

Each case: float features x (B, I) from a seeded normal (the float-feature path), targets (class indices y (B) for
cross_entropy, float targets t (B, K) otherwise), the initial parameters (torch.manual_seed, PyTorch's default
init), the evaluation-mode logits, the training-mode loss and every gradient at them, then `steps` Adam steps on the
same batch (losses before each, parameters and moments after). Dropout: the masks PyTorch drew in each of the
1 + steps training passes are stored (`masks`, (1 + steps, B·Σhidden), 0/1 as float32, hidden layer after hidden
layer, each (B, O)), so an engine replays them. Tensor names are `<case>.<name>`.

This file extends make-training-fixtures.py (its safetensors writer); a case is one line in CASES.
"""
import argparse
import importlib.util
import json
import os
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
_spec = importlib.util.spec_from_file_location('make_training_fixtures', os.path.join(HERE, 'make-training-fixtures.py'))
training_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(training_fixtures)

ACTIVATIONS = {
    'relu': lambda slope: nn.ReLU(),
    'leaky_relu': lambda slope: nn.LeakyReLU(slope),
    'tanh': lambda slope: nn.Tanh(),
    'sigmoid': lambda slope: nn.Sigmoid(),
    'gelu': lambda slope: nn.GELU(),  # approximate='none': the erf form
}
LOSSES = {
    'cross_entropy': lambda weight: nn.CrossEntropyLoss(weight=weight),
    'bce_with_logits': lambda weight: nn.BCEWithLogitsLoss(),
    'mse': lambda weight: nn.MSELoss(),
    'l1': lambda weight: nn.L1Loss(),
}


def recorded_dropout(x, p, masks):
    """nn.Dropout's training forward, as ATen's _dropout_impl computes it on the CPU (noise = bernoulli(1 − p),
    noise /= 1 − p, x · noise), with the 0/1 mask appended to `masks`. main() checks it equals F.dropout."""
    noise = torch.empty_like(x).bernoulli_(1 - p)
    masks.append((noise != 0).float().reshape(-1))
    noise.div_(1 - p)
    return x * noise


class Net(nn.Module):
    """(x − mean) / std when given, then fc1, activation, dropout, fc2, ... : state_dict keys fc<l>.weight/bias."""

    def __init__(self, sizes, activation, slope, p, mean, std):
        super().__init__()
        self.count = len(sizes) - 1
        for l in range(self.count):
            setattr(self, f'fc{l + 1}', nn.Linear(sizes[l], sizes[l + 1]))
        self.act = ACTIVATIONS[activation](slope)
        self.p = p
        self.mean, self.std = mean, std
        self.masks = []

    def forward(self, x):
        if self.mean is not None:
            x = x.sub(self.mean).div(self.std)  # torchvision's Normalize: sub_ then div_
        for l in range(self.count):
            x = getattr(self, f'fc{l + 1}')(x)
            if l < self.count - 1:
                x = self.act(x)
                if self.p > 0 and self.training:
                    x = recorded_dropout(x, self.p, self.masks)
        return x


def make_case(sizes, batch, seed, activation='relu', loss='cross_entropy', slope=0.01, dropout=0.0,
              class_weights=False, normalize=False, pixels=False, steps=3, lr=1e-2):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 1000)
    I, K = sizes[0], sizes[-1]
    if pixels:  # uint8 pixels, 70 % zeros like MNIST's, scaled as ToTensor: the engines' sparse uint8 path
        raw = torch.randint(1, 256, (batch, I), generator=generator)
        raw[torch.rand(batch, I, generator=generator) < 0.7] = 0
        x = raw.to(torch.uint8).float().div(255)
    else:
        x = torch.randn(batch, I, generator=generator) * 1.5
    if loss == 'cross_entropy':
        target = torch.randint(0, K, (batch,), generator=generator)
    elif loss == 'bce_with_logits':
        target = torch.rand(batch, K, generator=generator)
        target[0] = (target[0] > 0.5).float()  # hard 0/1 labels beside soft ones
    else:
        target = torch.randn(batch, K, generator=generator)
    weight = torch.rand(K, generator=generator) + 0.2 if class_weights else None
    if normalize and pixels:  # MNIST's Normalize((0.1307,), (0.3081,)) on every feature
        mean, std = torch.full((I,), 0.1307), torch.full((I,), 0.3081)
    else:
        mean = torch.randn(I, generator=generator) * 0.5 if normalize else None
        std = torch.rand(I, generator=generator) + 0.5 if normalize else None
    model = Net(sizes, activation, slope, dropout, mean, std)
    criterion = LOSSES[loss](weight)

    tensors = OrderedDict([('x', x), ('y' if loss == 'cross_entropy' else 't', target)])
    if pixels:
        tensors['pixels'] = (x * 255).round()  # the bytes, as float32 (the writer stores F32 and I64)
    if weight is not None:
        tensors['class_weights'] = weight
    if normalize:
        tensors['input_mean'], tensors['input_std'] = mean, std
    tensors.update((name, p.detach().clone()) for name, p in model.named_parameters())
    model.eval()
    tensors['logits'] = model(x).detach().clone()
    model.train()
    value = criterion(model(x), target)
    value.backward()
    tensors['loss'] = value.detach().clone()
    tensors.update((f'grad.{name}', p.grad.detach().clone()) for name, p in model.named_parameters())

    model.zero_grad()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        value = criterion(model(x), target)
        value.backward()
        opt.step()
        losses.append(value.item())
    tensors['losses'] = torch.tensor(losses, dtype=torch.float32)
    for name, p in model.named_parameters():
        tensors[f'after.{name}'] = p.detach().clone()
        tensors[f'adam.exp_avg.{name}'] = opt.state[p]['exp_avg'].clone()
        tensors[f'adam.exp_avg_sq.{name}'] = opt.state[p]['exp_avg_sq'].clone()
    if dropout > 0:
        per_pass = len(sizes) - 2
        tensors['masks'] = torch.stack([torch.cat(model.masks[k:k + per_pass]) for k in range(0, len(model.masks), per_pass)])
    meta = OrderedDict([
        ('sizes', list(sizes)), ('batch', batch), ('seed', seed), ('activation', activation),
        ('negative_slope', slope), ('dropout', dropout), ('loss', loss), ('class_weights', class_weights),
        ('normalize', normalize), ('pixels', pixels), ('steps', steps), ('lr', lr), ('betas', [0.9, 0.999]), ('eps', 1e-8),
        ('loss_value', tensors['loss'].item()), ('losses', losses),
    ])
    return tensors, meta


D1, D2 = [6, 5, 3], [6, 5, 4, 3]
CASES = OrderedDict()
for depth, sizes, batch in (('d1', D1, 5), ('d2', D2, 4)):
    for activation in ACTIVATIONS:
        CASES[f'{activation}_ce_{depth}'] = dict(sizes=sizes, batch=batch, seed=10, activation=activation)
    for loss, activation in (('bce_with_logits', 'tanh'), ('mse', 'gelu'), ('l1', 'sigmoid')):
        CASES[f'{activation}_{loss}_{depth}'] = dict(sizes=sizes, batch=batch, seed=11, activation=activation, loss=loss)
    CASES[f'weighted_ce_{depth}'] = dict(sizes=sizes, batch=batch, seed=12, activation='relu' if depth == 'd1' else 'sigmoid',
                                         class_weights=True)
CASES['leaky_relu_slope0.2_ce_d2'] = dict(sizes=D2, batch=4, seed=13, activation='leaky_relu', slope=0.2)
CASES['dropout0.3_relu_ce_d1'] = dict(sizes=D1, batch=5, seed=14, activation='relu', dropout=0.3)
CASES['dropout0.5_gelu_mse_d2'] = dict(sizes=D2, batch=4, seed=15, activation='gelu', loss='mse', dropout=0.5)
CASES['normalize_leaky_relu_ce_d2'] = dict(sizes=D2, batch=4, seed=16, activation='leaky_relu', normalize=True)
# uint8 pixels through the engines' dataset path (trainBatch), raw and normalised as MNIST usually is.
CASES['pixels_relu_ce_d1'] = dict(sizes=[40, 12, 4], batch=16, seed=17, activation='relu', pixels=True)
CASES['pixels_normalize_relu_ce_d1'] = dict(sizes=[40, 12, 4], batch=16, seed=18, activation='relu', pixels=True, normalize=True)
CASES['pixels_normalize_gelu_dropout0.2_ce_d2'] = dict(sizes=[40, 12, 8, 4], batch=16, seed=19, activation='gelu', pixels=True,
                                                        normalize=True, dropout=0.2)


def check_recorded_dropout():
    """recorded_dropout draws and computes exactly what F.dropout does from the same generator state."""
    x = torch.randn(7, 9)
    state = torch.get_rng_state()
    expected = F.dropout(x, 0.3, training=True)
    torch.set_rng_state(state)
    got = recorded_dropout(x, 0.3, [])
    assert torch.equal(expected, got), 'recorded_dropout differs from F.dropout'


def main():
    parser = argparse.ArgumentParser(description='Writes the layer fixtures (see the top of this file).')
    parser.add_argument('--out', default=os.path.join(ROOT, 'test', 'fixtures'))
    args = parser.parse_args()
    torch.set_num_threads(1)
    check_recorded_dropout()
    tensors, cases = OrderedDict(), OrderedDict()
    for name, kwargs in CASES.items():
        case_tensors, meta = make_case(**kwargs)
        tensors.update((f'{name}.{key}', value) for key, value in case_tensors.items())
        cases[name] = meta
    os.makedirs(args.out, exist_ok=True)
    file = os.path.join(args.out, 'layers.safetensors')
    training_fixtures.write_safetensors(file, tensors, {'torch': torch.__version__, 'generator': 'test/fixtures-gen/make-layer-fixtures.py'})
    with open(os.path.join(args.out, 'layers.json'), 'w') as out:
        json.dump({'torch': torch.__version__, 'layout': 'PyTorch nn.Linear: weight is [out, in]; y = x W^T + b',
                   'cases': cases}, out, indent=1)
        out.write('\n')
    print(f'{file}: {os.path.getsize(file)} bytes, {len(cases)} cases, {len(tensors)} tensors')


if __name__ == '__main__':
    main()
