"""The PyTorch eager peer of //bench:throughput (issue 8): the same network trained by PyTorch.

Run by throughput.py with the interpreter given in --torch_python (PyTorch is not one of LTFN's
requirements), as a worker speaking peers.py's protocol, so its repeats interleave with the TF1
graph's and Keras's. It imports only torch, numpy and data/ (the same MNIST, the same batches:
images in order, batch 100, as trainer.Batches takes them).

Same layers and shapes as graphs/<net>.py, in PyTorch's own layout (NCHW) and with its usual
training step (zero_grad, forward, CrossEntropyLoss, backward, SGD step at the post's learning rate).
With --precision=bfloat16 the forward pass and loss run under torch.autocast("cpu", dtype=torch.bfloat16),
PyTorch's own mixed precision (weights stay float32), as issue 15 compares.
"""

import contextlib

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import peers  # noqa: E402  (numpy and the standard library only)


def network(net, nn):
    if net == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if net == "fc3":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 500), nn.ReLU(), nn.Linear(500, 500), nn.ReLU(),
                             nn.Linear(500, 10))

    def conv(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]

    return nn.Sequential(*conv(1, 64), *conv(64, 64), nn.MaxPool2d(2), *conv(64, 128), *conv(128, 128),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6272, 10))


def initialize(module, torch):
    """He-scaled truncated normal weights (as graphs/initializers.py's variance_scaling), biases 0.
    The speed does not depend on them; a sensible start keeps the loss finite however long it runs."""
    for layer in module:
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
            # 0.8796...: std of a unit normal truncated at 2 std, which TF's initializer corrects for.
            std = math.sqrt(2.0 / layer.weight[0].numel()) / 0.87962566103423978
            torch.nn.init.trunc_normal_(layer.weight, 0.0, std, -2 * std, 2 * std)
            torch.nn.init.zeros_(layer.bias)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--net", choices=["linear", "fc3", "conv4"], required=True)
    parser.add_argument("--steps", type=int, required=True, help="Training steps per timed repeat.")
    parser.add_argument("--warmup", type=int, required=True, help="Untimed steps first.")
    parser.add_argument("--learning_rate", type=float, required=True)
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    args = parser.parse_args()
    try:
        import torch
    except ImportError as e:
        peers.fail("{} cannot import torch ({}): give --torch_python a Python with PyTorch "
                   "installed (pip install torch==2.13.0)".format(sys.executable, e))
    from data import loader

    torch.manual_seed(0)
    data = loader.load_mnist().train
    images = torch.from_numpy(data.images.reshape(-1, 1, 28, 28).copy())
    labels = torch.from_numpy(data.labels.argmax(axis=1))
    net = network(args.net, torch.nn)
    initialize(net, torch)
    optimizer = torch.optim.SGD(net.parameters(), lr=args.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    n, batch = len(images), peers.BATCH_SIZE
    autocast = ((lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.precision == "bfloat16"
                else contextlib.nullcontext)
    step = 0

    def train(steps):
        nonlocal step
        for _ in range(steps):
            begin = step * batch % n
            if begin + batch > n:  # the epoch's tail: trainer.Batches wraps around, so do we
                index = torch.arange(step * batch, (step + 1) * batch) % n
                x, y = images[index], labels[index]
            else:
                x, y = images[begin:begin + batch], labels[begin:begin + batch]
            optimizer.zero_grad()
            with autocast():
                loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
            step += 1
        return float(loss)

    peers.serve(train, args.steps, args.warmup,
                "torch {}, {} threads, {}".format(torch.__version__, torch.get_num_threads(),
                                                  "autocast bfloat16" if args.precision == "bfloat16" else "float32"))


if __name__ == "__main__":
    main()
