"""The model of PyTorch's spatial-transformer tutorial, for the tools/ scripts.

https://pytorch.org/tutorials/intermediate/spatial_transformer_tutorial.html

`Net` is the tutorial's class unchanged (same module names and construction order, so
torch.manual_seed gives the same initial weights and state_dict() the same keys):
  conv1, conv2, fc1, fc2, localization.0, localization.3, fc_loc.0, fc_loc.2 (.weight, .bias)
27,360 parameters (PARAMETER_COUNT). As in the tutorial, Net takes the NORMALISED image;
`normalize` turns pixel/255 into it (transforms.Normalize((0.1307,), (0.3081,))).

`forward_recording` runs the same computation from pixel/255 while keeping every
intermediate under the names the Swift engine uses (NAMES), each with a retained gradient.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.1307, 0.3081
PARAMETER_COUNT = 27360

NAMES = ['image', 'normalized',
         'localization.0', 'localization.1', 'localization.2',
         'localization.3', 'localization.4', 'localization.5',
         'xs', 'fc_loc.0', 'fc_loc.1', 'fc_loc.2', 'theta', 'grid', 'transformed',
         'conv1', 'conv1.pool', 'conv1.relu', 'conv2', 'conv2_drop', 'conv2.pool', 'conv2.relu',
         'flat', 'fc1', 'fc1.relu', 'fc1.drop', 'fc2', 'log_probs']


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

        # Spatial transformer localization-network
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True)
        )

        # Regressor for the 3 * 2 affine matrix
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2)
        )

        # Initialize the weights/bias with identity transformation
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    # Spatial transformer network forward function
    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)

        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)

        return x

    def forward(self, x):
        # transform the input
        x = self.stn(x)

        # Perform the usual forward pass
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def build():
    model = Net()
    count = sum(p.numel() for p in model.parameters())
    assert count == PARAMETER_COUNT, count
    return model


def normalize(image):
    """pixel/255 -> the tutorial's input (ToTensor() then Normalize((0.1307,), (0.3081,)))."""
    return (image - MEAN) / STD


def forward_recording(model, image, dropout=False):
    """Runs `model` on `image` (pixel/255, [N,1,28,28]) and returns {name: tensor} for NAMES.

    Every tensor has retain_grad() (image itself should be a leaf with requires_grad).
    The tutorial's in-place ReLUs are applied out of place here so that each recorded
    tensor keeps its own value. dropout=False makes conv2_drop and fc1.drop the identity
    (whatever model.training is); dropout=True applies them as Net.forward does.
    """
    acts = {}

    def keep(key, t):
        if t.requires_grad:
            t.retain_grad()
        acts[key] = t
        return t

    def apply(layer, h):
        return F.relu(h) if isinstance(layer, nn.ReLU) else layer(h)

    x = keep('image', image)
    x = keep('normalized', normalize(x))
    h = x
    for i, layer in enumerate(model.localization):
        h = keep(f'localization.{i}', apply(layer, h))
    h = keep('xs', h.view(-1, 10 * 3 * 3))
    for i, layer in enumerate(model.fc_loc):
        h = keep(f'fc_loc.{i}', apply(layer, h))
    theta = keep('theta', h.view(-1, 2, 3))
    grid = keep('grid', F.affine_grid(theta, x.size(), align_corners=False))
    h = keep('transformed', F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False))
    h = keep('conv1', model.conv1(h))
    h = keep('conv1.pool', F.max_pool2d(h, 2))
    h = keep('conv1.relu', F.relu(h))
    h = keep('conv2', model.conv2(h))
    h = keep('conv2_drop', model.conv2_drop(h) if dropout else h.view_as(h))
    h = keep('conv2.pool', F.max_pool2d(h, 2))
    h = keep('conv2.relu', F.relu(h))
    h = keep('flat', h.view(-1, 320))
    h = keep('fc1', model.fc1(h))
    h = keep('fc1.relu', F.relu(h))
    h = keep('fc1.drop', F.dropout(h, training=model.training) if dropout else h.view_as(h))
    h = keep('fc2', model.fc2(h))
    keep('log_probs', F.log_softmax(h, dim=1))
    assert list(acts) == NAMES
    return acts
