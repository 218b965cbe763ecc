"""Reference values for the structure study's linear networks (crates/gradscope-torch/src/
models/mod.rs, test `lnn_matches_pytorch`): `lnn`, `lnn-bn` and `lnn-relu` written here as
PyTorch modules, independently of gradscope's code, from the description the Rust models
document: flatten, four hidden layers of 70 (nn.Linear with bias; nn.BatchNorm1d right
after each linear map in lnn-bn, eps 1e-5; nn.ReLU after each hidden layer in lnn-relu;
nothing between them in lnn), then nn.Linear(70, 10).

Parameters and input are deterministic formulas the Rust test evaluates alike, so no file
travels between the two: the t-th parameter tensor (creation order, counting from 0),
flattened, holds at index k
    BatchNorm weight   1 + 0.1 sin(0.37 k + t)
    any other          0.05 sin(0.37 k + t)
and image i (8 images, 1x28x28, flattened index k) is cos(0.013 k + 0.5 i), label i mod 10.
In training mode (BatchNorm on the batch's statistics, as SGD sees it), in float64, it
prints the mean cross-entropy and the Euclidean norm of each parameter's gradient.

Run: .venv/bin/python scripts/reference/lnn_reference.py   (torch 2.13.0)
"""

import torch
from torch import nn

torch.set_default_dtype(torch.float64)


def network(bn, relu):
    layers, inp = [nn.Flatten()], 784
    for _ in range(4):
        layers.append(nn.Linear(inp, 70))
        if bn:
            layers.append(nn.BatchNorm1d(70, eps=1e-5))
        if relu:
            layers.append(nn.ReLU())
        inp = 70
    layers.append(nn.Linear(inp, 10))
    return nn.Sequential(*layers)


def fill(net):
    with torch.no_grad():
        for t, (name, p) in enumerate(net.named_parameters()):
            k = torch.arange(p.numel(), dtype=torch.float64)
            s = torch.sin(0.37 * k + t)
            is_bn_weight = isinstance(dict(net.named_modules())[name.rsplit(".", 1)[0]], nn.BatchNorm1d) \
                and name.endswith("weight")
            p.copy_((1 + 0.1 * s if is_bn_weight else 0.05 * s).reshape(p.shape))


x = torch.stack([torch.cos(0.013 * torch.arange(784, dtype=torch.float64) + 0.5 * i) for i in range(8)])
x = x.reshape(8, 1, 28, 28)
y = torch.arange(8) % 10
for name, bn, relu in [("lnn", False, False), ("lnn-bn", True, False), ("lnn-relu", False, True)]:
    net = network(bn, relu)
    fill(net)
    net.train()
    loss = nn.functional.cross_entropy(net(x), y)
    loss.backward()
    norms = [p.grad.norm().item() for p in net.parameters()]
    print(f'("{name}", {loss.item():.12e}, &[{", ".join(f"{v:.12e}" for v in norms)}]),')
