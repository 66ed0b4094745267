"""PyTorch on fcnet's benchmark job, at its best: the reference network, Adam, batches of 100 reshuffled
every epoch, the whole MNIST training set pre-loaded as one float tensor (no DataLoader), for each thread
setting asked. Prints one JSON object: {"torch": version, "threads": {"1": [s, s, ...], ...}}.
Run by `npm run bench -- --compare-pytorch`; fcnet never depends on PyTorch."""
import json
import sys
import time

import torch
import torch.nn as nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


class NeuralNet(nn.Module):  # as in the reference program
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def epochs_seconds(images, labels, threads, epochs, batch=100, hidden=500):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = NeuralNet(784, hidden, 10)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    n = images.shape[0]
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n)
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            loss = criterion(model(images[idx]), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return seconds


def main():
    data_dir, epochs, threads = sys.argv[1], int(sys.argv[2]), [int(t) for t in sys.argv[3].split(",")]
    images = read_idx(f"{data_dir}/train-images-idx3-ubyte").reshape(-1, 784).float().div(255)
    labels = read_idx(f"{data_dir}/train-labels-idx1-ubyte").long()
    result = {"torch": torch.__version__, "threads": {}}
    for t in threads:
        result["threads"][str(t)] = epochs_seconds(images, labels, t, epochs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
