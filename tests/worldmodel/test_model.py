"""Shapes at batch 1 and N for both observation kinds and both objectives; SIGReg's meaning."""

import pytest
import torch

from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel
from worldmodel.sigreg import sigreg


@pytest.mark.parametrize("obs", ["state", "pixels"])
@pytest.mark.parametrize("objective", ["jepa", "reconstruction"])
@pytest.mark.parametrize("b", [1, 5])
def test_shapes(obs, objective, b):
    c = ModelConfig(scenario="pads", obs=obs, objective=objective, state_dim=14, n_dynamic=4,
                    image_size=32, latent_dim=8, hidden=32, chunk=5)
    m = WorldModel(c)
    x = torch.randn(b, 14) if obs == "state" else torch.randint(0, 255, (b, 32, 32, 3),
                                                               dtype=torch.uint8)
    z = m.encode(x)
    assert z.shape == (b, 8)
    assert m.predict(z, torch.zeros(b, 5, 2)).shape == (b, 8)
    zs = m.rollout(z, torch.zeros(b, 6, 5, 2))
    assert zs.shape == (b, 6, 8)
    assert m.energy(zs, z[0]).shape == (b,)
    assert m.energy(zs, z).shape == (b,)
    assert m.probe(z).shape == (b, 4)
    if objective == "reconstruction":
        want = (b, 14) if obs == "state" else (b, 3, 32, 32)
        assert m.decode(z).shape == want
    else:
        with pytest.raises(ValueError, match="objective='jepa' and has no decoder"):
            m.decode(z)


def test_energy_is_zero_at_the_goal_and_grows_with_distance():
    m = WorldModel(ModelConfig(scenario="pads", latent_dim=4, hidden=8))
    goal = torch.zeros(4)
    z = torch.stack([torch.zeros(2, 4), torch.ones(2, 4)])  # (2, H=2, D=4)
    e = m.energy(z, goal)
    assert e[0] == 0 and e[1] > 0


def test_sigreg_small_for_gaussian_and_large_for_collapsed():
    g = torch.Generator().manual_seed(0)
    gauss = sigreg(torch.randn(1024, 16, generator=g), 64, generator=g)
    collapsed = sigreg(torch.zeros(1024, 16) + 0.3, 64, generator=g)
    line = sigreg(torch.randn(1024, 1, generator=g).expand(1024, 16), 64, generator=g)
    shrunk = sigreg(0.1 * torch.randn(1024, 16, generator=g), 64, generator=g)
    # Under the null EP does not shrink with N: its mean is ~1.06 (see sigreg.py); per sample
    # (EP / N) it is ~0. Anything collapsed scales with N.
    assert gauss < 1.5
    assert gauss / 1024 < 2e-3
    assert collapsed > 100 * gauss
    assert line > 10 * gauss  # dimensional collapse: all dims equal
    assert shrunk > 10 * gauss  # variance collapse


def test_sigreg_gradient_spreads_a_collapsed_batch():
    z = (0.01 * torch.randn(256, 8)).requires_grad_()
    opt = torch.optim.Adam([z], lr=0.05)
    first = float(sigreg(z, 32).detach())
    for _ in range(150):
        opt.zero_grad()
        sigreg(z, 32).backward()
        opt.step()
    assert float(sigreg(z, 32).detach()) < 0.02 * first
    assert 0.5 < float(z.detach().std(0).mean()) < 1.5


@pytest.mark.parametrize("field,value,fix", [
    ("obs", "rgb", "use 'state' or 'pixels'"),
    ("latent_dim", 0, "use a positive integer"),
    ("image_size", 50, "use 32, 48, 64 or 96"),
])
def test_config_errors_name_the_field_and_the_fix(field, value, fix):
    with pytest.raises(ValueError) as e:
        ModelConfig(scenario="pads", **{field: value})
    assert str(e.value).startswith(f"{field}={value!r} is invalid") and fix in str(e.value)


@pytest.mark.parametrize("objective", ["jepa", "reconstruction"])
def test_a_keypoint_encoder_reads_stacks_of_frames(objective):
    c = ModelConfig(scenario="pads", obs="pixels", objective=objective, image_size=32,
                    latent_dim=8, hidden=32, encoder="keypoints", frames=2)
    m = WorldModel(c)
    x = torch.randint(0, 255, (3, 2, 32, 32, 3), dtype=torch.uint8)
    z = m.encode(x)
    assert z.shape == (3, 8)
    # the older frame matters: the encoder can see speed
    y = x.clone()
    y[:, 0] = 0
    assert not torch.allclose(m.encode(y), z)
    if objective == "reconstruction":  # the decoder reproduces the whole stack
        assert m.decode(z).shape == (3, 6, 32, 32)


def test_the_keypoint_encoder_finds_a_bright_dot():
    """Where a single map peaks is read out to a fraction of the frame, so a dot a few pixels
    wide moves the embedding's keypoints as it moves."""
    from worldmodel.model import KeypointEncoder

    enc = KeypointEncoder(32, 8, 32, frames=1, channels=4)
    with torch.no_grad():
        for conv in enc.trunk[::2]:
            conv.weight.zero_()
            conv.bias.zero_()
        enc.trunk[0].weight[:, 0, 1:3, 1:3] = 1.0  # red channel, 2x2 box, every map
        for conv in enc.trunk[2::2]:
            for i in range(4):
                conv.weight[i, i, 1, 1] = 1.0
    frames = torch.full((2, 3, 32, 32), -0.5)
    frames[0, 0, 4:8, 4:8] = 20.0  # top left
    frames[1, 0, 24:28, 20:24] = 20.0  # lower right
    x = torch.cat([frames, enc.coords.expand(2, -1, -1, -1)], 1)
    f = enc.trunk(x).flatten(2)
    points = torch.softmax(f, -1) @ enc.grid
    assert (points[0, :, 0] < -0.4).all() and (points[0, :, 1] < -0.4).all()
    assert (points[1, :, 0] > 0.2).all() and (points[1, :, 1] > 0.4).all()


def test_frames_are_stacked_only_for_pixels_and_only_by_keypoints():
    with pytest.raises(ValueError, match="frames=2 is invalid"):
        ModelConfig(scenario="pads", obs="state", frames=2)
    with pytest.raises(ValueError, match="'cnn' encoder reads one frame"):
        WorldModel(ModelConfig(scenario="pads", obs="pixels", encoder="cnn", frames=2,
                               image_size=32))


def test_motion_shows_the_keypoint_encoder_what_moved_between_the_frames():
    with pytest.raises(ValueError, match="motion=True is invalid"):
        ModelConfig(scenario="pads", obs="pixels", encoder="keypoints", frames=1, motion=True)
    torch.manual_seed(0)
    enc = WorldModel(ModelConfig(scenario="pads", obs="pixels", encoder="keypoints", frames=2,
                                 image_size=32, motion=True)).encoder
    assert enc.trunk[0].in_channels == 8  # RGB, RGB minus the frame before, coordinates
    still = torch.zeros(1, 2, 3, 32, 32)
    moved = still.clone()
    moved[:, 1, :, 10:13, 10:13] = 0.4  # something appears in the newest frame only
    # The difference reaches the trunk: zeroing its weights on the difference channels
    # leaves only what the frames themselves show.
    x = torch.cat([moved[:, 1], moved[:, 1] - moved[:, 0]], 1)
    with torch.no_grad():
        with_diff = enc.features(x)
        enc.trunk[0].weight[:, 3:6] = 0
        without = enc.features(x)
    assert not torch.allclose(with_diff, without)


def test_a_sharper_spatial_softmax_gathers_each_keypoint_on_fewer_places():
    with pytest.raises(ValueError, match="sharpness=0 is invalid"):
        ModelConfig(scenario="pads", obs="pixels", encoder="keypoints", sharpness=0)
    frames = torch.rand(4, 3, 32, 32) - 0.5
    spread = []
    for s in (1.0, 20.0):
        torch.manual_seed(0)
        enc = WorldModel(ModelConfig(scenario="pads", obs="pixels", encoder="keypoints",
                                     image_size=32, sharpness=s)).encoder
        with torch.no_grad():
            x = torch.cat([frames, enc.coords.expand(4, -1, -1, -1)], 1)
            p = torch.softmax(s * enc.trunk(x).flatten(2), -1)
        spread.append(float(-(p * p.log()).sum(-1).mean()))  # entropy of each map's softmax
    # at initialisation the maps are faint (entropy near log(256) = 5.55 either way); the
    # sharpness also scales their gradient, which is what let a sort model find its agent
    assert spread[1] < spread[0] - 0.03
