#!/usr/bin/env python3
"""fcnet against PyTorch and scikit-learn on the same job, a shipped real table (issue 14's targets).

The job: examples/data/<table>-train.csv (the stratified half that scripts/export-sklearn-tables.py wrote),
features standardised on the training rows (StandardScaler: population std), one hidden layer of 64 ReLU units,
cross-entropy, Adam (lr 1e-3, betas 0.9/0.999), batches of 32 reshuffled every epoch, EPOCHS epochs, default
initialisation (PyTorch's nn.Linear); then the accuracy on <table>-test.csv.

- fcnet: `fcnet train --data ... --target ... --standardize` and `fcnet eval --json`, through the command line.
- PyTorch 1.13: the same network, loss, optimizer, batches and epochs (torch.manual_seed(seed)).
- scikit-learn: MLPClassifier(hidden_layer_sizes=(64,), solver='adam', alpha=0, batch_size=32,
  learning_rate_init=1e-3, max_iter=EPOCHS, shuffle=True, early_stopping=False, n_iter_no_change > EPOCHS):
  the same job, though its Glorot initialisation differs.

Prints each seed's test accuracy, the mean over the seeds of each, fcnet's mean minus PyTorch's, and the
training seconds of one run each (the median of the seeds') with the ratios. Timings depend on the machine:
fcnet's is the fit inside the CLI (the 'end' event's seconds), PyTorch's and scikit-learn's the training loop.

Run (after npm run build): /usr/bin/python3 scripts/compare-own-data.py [--table digits] [--seeds 10] [--epochs 50]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, 'dist', 'lib', 'cli', 'main.js')
TARGETS = {'digits': 'digit', 'breast-cancer': 'diagnosis'}


def read_table(path, target):
    with open(path) as f:
        header = f.readline().strip().split(',')
        rows = [line.strip().split(',') for line in f if line.strip()]
    t = header.index(target)
    X = np.array([[float(v) for i, v in enumerate(r) if i != t] for r in rows], dtype=np.float32)
    labels = [r[t] for r in rows]
    return X, labels


def fcnet(train_csv, test_csv, target, seed, epochs, hidden, batch):
    with tempfile.TemporaryDirectory() as folder:
        model = os.path.join(folder, 'model.safetensors')
        out = subprocess.run(['node', CLI, 'train', '--data', train_csv, '--target', target, '--standardize', '--hidden', str(hidden),
                              '--epochs', str(epochs), '--batch-size', str(batch), '--lr', '0.001', '--seed', str(seed),
                              '--backend', 'cpu', '--output', model, '--json'], check=True, capture_output=True, text=True).stdout
        seconds = [json.loads(line) for line in out.splitlines()][-1]['seconds']
        result = subprocess.run(['node', CLI, 'eval', model, '--data', test_csv, '--json', '--backend', 'cpu'], check=True, capture_output=True, text=True).stdout
        return json.loads(result)['accuracy'], seconds


def standardise(X_train, X_test):
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std[std < 10 * np.finfo(np.float64).eps] = 1.0
    return ((X_train - mean) / std).astype(np.float32), ((X_test - mean) / std).astype(np.float32)


def pytorch(X_train, y_train, X_test, y_test, classes, seed, epochs, hidden, batch):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(X_train.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = torch.from_numpy(X_train), torch.from_numpy(y_train)
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(y))
        for i in range(0, len(y), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()
    seconds = time.perf_counter() - started
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(X_test)).argmax(1).numpy() == y_test).mean()
    return float(accuracy), seconds


def sklearn(X_train, y_train, X_test, y_test, seed, epochs, hidden, batch):
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), solver='adam', alpha=0.0, batch_size=batch, learning_rate_init=1e-3,
                        max_iter=epochs, shuffle=True, early_stopping=False, n_iter_no_change=epochs + 1, tol=0.0, random_state=seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        clf.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    return float((clf.predict(X_test) == y_test).mean()), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--table', default='digits', choices=sorted(TARGETS))
    parser.add_argument('--seeds', type=int, default=10)
    parser.add_argument('--epochs', type=int, default=50)
    parser.add_argument('--hidden', type=int, default=64)
    parser.add_argument('--batch', type=int, default=32)
    args = parser.parse_args()
    target = TARGETS[args.table]
    train_csv = os.path.join(ROOT, 'examples', 'data', f'{args.table}-train.csv')
    test_csv = os.path.join(ROOT, 'examples', 'data', f'{args.table}-test.csv')
    X_train, train_labels = read_table(train_csv, target)
    X_test, test_labels = read_table(test_csv, target)
    names = sorted(set(train_labels), key=lambda s: (0, int(s)) if s.lstrip('-').isdigit() else (1, s))  # fcnet's order
    y_train = np.array([names.index(v) for v in train_labels], dtype=np.int64)
    y_test = np.array([names.index(v) for v in test_labels], dtype=np.int64)
    Xs_train, Xs_test = standardise(X_train, X_test)
    print(f'{args.table}: {len(y_train)} training rows, {len(y_test)} test rows, {X_train.shape[1]} features, {len(names)} classes; '
          f'{X_train.shape[1]}-{args.hidden}-{len(names)}, Adam lr 1e-3, batches of {args.batch}, {args.epochs} epochs')
    results = {'fcnet': [], 'pytorch': [], 'sklearn': []}
    for seed in range(args.seeds):
        results['fcnet'].append(fcnet(train_csv, test_csv, target, seed, args.epochs, args.hidden, args.batch))
        results['pytorch'].append(pytorch(Xs_train, y_train, Xs_test, y_test, len(names), seed, args.epochs, args.hidden, args.batch))
        results['sklearn'].append(sklearn(Xs_train, y_train, Xs_test, y_test, seed, args.epochs, args.hidden, args.batch))
        print(f'seed {seed}: ' + '  '.join(f'{k} {100 * v[-1][0]:.2f} %' for k, v in results.items()), flush=True)
    mean = {k: 100 * statistics.mean(a for a, _ in v) for k, v in results.items()}
    spread = {k: 100 * statistics.pstdev([a for a, _ in v]) for k, v in results.items()}
    seconds = {k: statistics.median(s for _, s in v) for k, v in results.items()}
    for k in results:
        print(f'{k:8s} mean test accuracy {mean[k]:.2f} % (std {spread[k]:.2f}) over {args.seeds} seeds; training {seconds[k]:.3f} s (median)')
    print(f'fcnet - pytorch: {mean["fcnet"] - mean["pytorch"]:+.2f} points (target: within 1)')
    print(f'training time: pytorch / fcnet = {seconds["pytorch"] / seconds["fcnet"]:.2f}x, sklearn / fcnet = {seconds["sklearn"] / seconds["fcnet"]:.2f}x')


if __name__ == '__main__':
    main()
