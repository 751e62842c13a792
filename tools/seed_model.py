"""The seed's PyTorch models (Jaderberg et al. 2015, RTS MNIST), for the tools/ scripts.

State-dict keys and shapes are the contract with stn-swift's HDF5 weight files:
CNN 112,052 parameters, ST-CNN (affine) 110,478.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class CNN(nn.Module):
    def __init__(self, channels=36):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(1, channels, 9), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(channels, channels, 7), nn.MaxPool2d(2), nn.ReLU())
        self.classification = nn.Sequential(
            nn.Linear(channels * 25, 50), nn.ReLU(), nn.Linear(50, 10))

    def classify(self, x):
        x = self.convs(x)
        return F.log_softmax(self.classification(x.flatten(1)), dim=1)

    def forward(self, x):
        return self.classify(x)


class STCNN(CNN):
    def __init__(self):
        super().__init__(channels=32)
        self.localisation_net = nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(20, 20, 5), nn.ReLU(), nn.Flatten(),
            nn.Linear(320, 20), nn.ReLU(), nn.Linear(20, 6))
        self.localisation_net[8].weight.data.zero_()
        self.localisation_net[8].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def transform(self, x):
        """Returns (downsampled, theta, grid, sampled)."""
        xd = F.interpolate(x, scale_factor=0.5, mode='bilinear', align_corners=False,
                           recompute_scale_factor=False)
        theta = self.localisation_net(xd).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(x.size()), align_corners=False)
        sampled = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
        return xd, theta, grid, sampled

    def forward(self, x):
        return self.classify(self.transform(x)[3])


def build(name):
    model = {'cnn': CNN, 'st-cnn': STCNN}[name]()
    count = sum(p.numel() for p in model.parameters())
    assert count == {'cnn': 112052, 'st-cnn': 110478}[name], count
    return model


def model_name_from_keys(keys):
    return 'st-cnn' if any(k.startswith('localisation_net.') for k in keys) else 'cnn'
