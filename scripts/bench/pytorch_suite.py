"""PyTorch's side of `fcnet bench --compare-pytorch --suite`: a server that times training steps of the suite's
workloads on request, so fcnet and PyTorch can take turns through one run of a shared machine.

PyTorch at its best: the dataset pre-loaded as one float tensor (scaled, and normalised where the workload says so,
once, before timing), nn.Linear + nn.ReLU layers, nn.CrossEntropyLoss, the workload's optimizer (torch.optim.Adam,
SGD or AdamW), batches of a fresh random permutation. Thread count: torch.set_num_threads(argv[1]); run it with glibc's malloc tuned
(see lib/bench/pytorch.ts). fcnet never depends on PyTorch.

Protocol, one JSON object a line. Request: {"name", "images", "labels", "n", "d", "sizes", "batch", "steps",
"mean", "std", "optimizer"} (images: a file of n·d uint8, labels: a file of n int32; mean/std: null or a number;
optimizer: {"kind": "adam" | "sgd" | "adamw", "lr", "momentum"?, "weightDecay"?}, Adam at lr 1e-3 when absent). Reply:
{"seconds": s} for `steps` timed steps after a few untimed ones, or {"error": text}. Prints {"torch": version}
first."""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def network(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def optimizer(parameters, o):
    if o["kind"] == "sgd":
        return torch.optim.SGD(parameters, lr=o["lr"], momentum=o.get("momentum", 0))
    if o["kind"] == "adamw":
        return torch.optim.AdamW(parameters, lr=o["lr"], weight_decay=o.get("weightDecay", 0.01))
    return torch.optim.Adam(parameters, lr=o["lr"])


class Job:
    def __init__(self, request):
        n, d = request["n"], request["d"]
        images = torch.from_numpy(np.fromfile(request["images"], dtype=np.uint8, count=n * d).reshape(n, d))
        self.images = images.float().div(255)
        if request.get("mean") is not None:
            self.images = (self.images - request["mean"]) / request["std"]
        self.labels = torch.from_numpy(np.fromfile(request["labels"], dtype=np.int32, count=n).astype(np.int64))
        torch.manual_seed(0)
        self.model = network(request["sizes"])
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = optimizer(self.model.parameters(), request.get("optimizer") or {"kind": "adam", "lr": 0.001})
        self.batch = request["batch"]
        self.order = torch.randperm(n)
        self.at = 0

    def step(self):
        n = self.images.shape[0]
        if self.at + self.batch > n:
            self.order = torch.randperm(n)
            self.at = 0
        idx = self.order[self.at:self.at + self.batch]
        self.at += self.batch
        loss = self.criterion(self.model(self.images[idx]), self.labels[idx])
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def seconds(self, steps):
        for _ in range(3):
            self.step()
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - start


def main():
    torch.set_num_threads(int(sys.argv[1]))
    print(json.dumps({"torch": torch.__version__}), flush=True)
    jobs = {}
    for line in sys.stdin:
        try:
            request = json.loads(line)
            job = jobs.get(request["name"])
            if job is None:
                jobs.clear()  # one workload's data at a time
                job = jobs[request["name"]] = Job(request)
            print(json.dumps({"seconds": job.seconds(request["steps"])}), flush=True)
        except Exception as e:  # the reply says what failed; the benchmark reports it
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    main()
